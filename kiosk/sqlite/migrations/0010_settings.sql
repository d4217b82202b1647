-- 0010: the console's overrides of the policy settings in the config file
-- (opening hours per weekday, call limits, warnings, weekly quota, help
-- code and numbers). One row per overridden key, its value in the text
-- form the console shows ("16:30-18:00", "5m", "12355, 110"); a key
-- without a row takes the config file's value. Rows are replaced in
-- place: the history is in the journal, where every change is an 'audit'
-- entry (action settings_change: actor, key, old and new value) written
-- in the same transaction. IF NOT EXISTS: a test re-runs migrations after
-- 0008 on a file that has them (calls_test.go).
CREATE TABLE IF NOT EXISTS settings (
	key        TEXT PRIMARY KEY CHECK (key GLOB '[a-z]*' AND length(key) <= 64),
	value      TEXT NOT NULL CHECK (length(value) <= 1000),
	updated_by TEXT NOT NULL,
	updated_at TEXT NOT NULL
);
