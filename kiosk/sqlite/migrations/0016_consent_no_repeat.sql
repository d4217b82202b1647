-- 0016: the database refuses a consent record that repeats the child's
-- current one (the row with the highest id) in given_on, method, relation
-- and withdrawn: a form sent twice, or the same consent recorded at once
-- by kioskd's console and kioskctl. The note is not compared: a second
-- note alone changes nothing the register shows. RecordConsent maps the
-- abort to ECONFLICT by its message (consentRepeatMsg in consent.go, keep
-- both the same). Inserts only: the erasure's UPDATE (0011) and the
-- no-update/no-delete triggers are untouched.
--
-- A trigger, not a unique index: the rule is about the latest record (a
-- consent given again after a withdrawal, or a correction back to an
-- earlier record, repeats an older row and is allowed); an erasure blanks
-- the relation of every row of the child, which would make distinct rows
-- collide in an index over relation; and a file that already holds
-- repeated rows (written before this migration) must still migrate.
-- Write transactions are BEGIN IMMEDIATE (sqlite.go), so the trigger reads
-- the latest committed row: two writers cannot both pass it.
--
-- Safe to run twice (DROP ... IF EXISTS), as tests re-run the migrations.
DROP TRIGGER IF EXISTS consents_no_repeat;
CREATE TRIGGER consents_no_repeat BEFORE INSERT ON consents
WHEN EXISTS (SELECT 1 FROM consents k
	WHERE k.id = (SELECT MAX(id) FROM consents WHERE child_id = NEW.child_id)
	AND k.given_on IS NEW.given_on AND k.method IS NEW.method
	AND k.relation IS NEW.relation AND k.withdrawn IS NEW.withdrawn)
BEGIN
	SELECT RAISE(ABORT, 'consents: repeats the current record');
END;
