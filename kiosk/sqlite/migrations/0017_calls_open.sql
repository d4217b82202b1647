-- 0017: the calls still open, for RecoverInterrupted at every start of
-- the daemon. A start row of the calls projection (0009) stays only while
-- its call has no end entry (an end replaces it, in the append's own
-- transaction), so this partial index holds the open calls alone: none,
-- or a few after a crash. Without it the recovery read every start entry
-- of the journal and looked its end up (245 ms at 100,000 calls, growing
-- with the register, on every start). Safe to run again (IF NOT EXISTS):
-- tests re-run the migrations after 0008 on a file that has them.
CREATE INDEX IF NOT EXISTS calls_open ON calls (seq) WHERE kind = 'call_start';
