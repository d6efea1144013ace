ALTER TABLE greetings ADD COLUMN lang text NOT NULL DEFAULT 'en';

CREATE TABLE visits (
  id bigserial PRIMARY KEY,
  at timestamptz DEFAULT now()
);
