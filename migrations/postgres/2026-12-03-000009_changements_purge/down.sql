DROP TABLE changements_purge;
