-- Appends one record to the audit trail.
-- KEYS[1] the audit stream
-- ARGV[1] the record's time (ms)   ARGV[2] records kept (approximately)   ARGV[3] the record (JSON)
-- Answers the entry's id.
--- @include "append-audit"
return appendAudit(KEYS[1], ARGV[1], ARGV[2], ARGV[3])
