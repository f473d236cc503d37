-- 0006: what a service promises about answering messages, shown to patients
-- before they write ("Réponse sous 2 jours ouvrés"). Empty: the widget says
-- nothing about a delay.
ALTER TABLE services ADD COLUMN response_time_fr TEXT NOT NULL DEFAULT '';
ALTER TABLE services ADD COLUMN response_time_en TEXT NOT NULL DEFAULT '';
