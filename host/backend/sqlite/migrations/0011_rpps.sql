-- 0011: practitioners' RPPS numbers (Répertoire partagé des professionnels
-- de santé), by which a patient finds a professional to grant access to.
-- NULL when unknown; one practitioner per number.
ALTER TABLE practitioners ADD COLUMN rpps TEXT CHECK (rpps IS NULL OR length(rpps) = 11);

CREATE UNIQUE INDEX practitioners_rpps ON practitioners (rpps) WHERE rpps IS NOT NULL;
