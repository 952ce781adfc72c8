DROP TABLE IF EXISTS `ksrs_generation`;
