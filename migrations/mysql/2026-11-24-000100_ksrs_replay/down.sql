DROP TABLE IF EXISTS `ksrs_replay`;
