-- Placeholder so that 009 applies on this branch (tern wants no gaps):
-- delete this file when the real 008 is merged.
SELECT 1;
