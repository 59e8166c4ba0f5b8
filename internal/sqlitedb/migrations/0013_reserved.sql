-- 0013: reserved for the SLA branch (issue 13, wf-sla), which may need a
-- migration of its own; wf-rules's is 0014. A no-op, so that the numbers
-- stay contiguous: delete this file when wf-sla's 0013 is merged.
SELECT 1;
