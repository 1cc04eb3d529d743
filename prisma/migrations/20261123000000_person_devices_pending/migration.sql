-- A person-on-device row is `pending` while the device holds an older version of the person than
-- the database: set when the student changes (any write that bumps students.version), and kept when a
-- sync records a version that a concurrent edit has already overtaken.

CREATE FUNCTION person_devices_mark_pending() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE person_devices SET state = 'pending', updated_at = now()
  WHERE student_id = NEW.id AND state = 'synced' AND synced_version IS DISTINCT FROM NEW.version;
  RETURN NULL;
END $$;

CREATE TRIGGER students_version_bumped
  AFTER UPDATE OF version ON students
  FOR EACH ROW WHEN (NEW.version > OLD.version)
  EXECUTE FUNCTION person_devices_mark_pending();

CREATE FUNCTION person_devices_keep_pending() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.state = 'synced' AND NEW.synced_version < (SELECT version FROM students WHERE id = NEW.student_id) THEN
    NEW.state := 'pending';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER person_devices_behind_student
  BEFORE INSERT OR UPDATE ON person_devices
  FOR EACH ROW EXECUTE FUNCTION person_devices_keep_pending();

UPDATE person_devices pd SET state = 'pending'
FROM students s WHERE s.id = pd.student_id AND pd.state = 'synced' AND pd.synced_version < s.version;
