DROP TABLE ksrs_generation;
