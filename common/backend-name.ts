/** The one rule for backend names (`lb.backends[].name`, `lbbench backend --name`): the `backend` label of every metric. */

/** Allowed characters of a backend name. */
export const BACKEND_NAME_PATTERN = /^[A-Za-z0-9_.:-]+$/;

/** BACKEND_NAME_PATTERN in words, for error messages. */
export const BACKEND_NAME_RULE = 'expected letters, digits, "_", ".", ":" or "-"';
