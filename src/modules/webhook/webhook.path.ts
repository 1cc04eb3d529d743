/**
 * The path terminals push to, or a leading part of it: the secret goes last, or (left out) in
 * `?secret=`. The intake's route patterns are built with it too, from `:param` placeholders.
 */
export const webhookPath = (schoolId: string, direction?: string, secret?: string) =>
  ['/webhook', schoolId, direction, secret].filter((part) => part !== undefined).join('/')
