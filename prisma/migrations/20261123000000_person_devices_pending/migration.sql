-- A person-on-device row is `pending` while the device holds an older version of the person than
-- the database: set here when the student changes (any write that bumps students.version). A sync
-- that records a version an edit has already overtaken writes `pending` itself (sync.repository.ts).

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

UPDATE person_devices pd SET state = 'pending'
FROM students s WHERE s.id = pd.student_id AND pd.state = 'synced' AND pd.synced_version < s.version;
