-- 0008: reserved for the claims branch, which is merged before this one;
-- this file only keeps the numbering without gaps on the templates branch.
-- Drop it when merging (claims' 0008 takes its place).
SELECT 1;
