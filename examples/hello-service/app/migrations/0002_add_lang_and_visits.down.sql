DROP TABLE visits;

ALTER TABLE greetings DROP COLUMN lang;
