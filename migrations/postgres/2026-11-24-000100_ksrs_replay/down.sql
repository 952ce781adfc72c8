DROP TABLE ksrs_replay;
