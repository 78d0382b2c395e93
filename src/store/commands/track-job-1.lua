-- Indexes a removal job's records (see includes/track-job.lua).
-- KEYS[1] the job index   ARGV[1] now (ms)   ARGV[2] job id   ARGV[3] jobs kept   ARGV[4] TTL (s)
-- Answers the jobs popped past the cap, with their scores.
--- @include "track-job"
return trackJob(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
