-- Placeholder on the companions branch only: 008 is another branch's
-- migration number (tern needs the numbers without gaps). Delete this file
-- when merging.
SELECT 1;
