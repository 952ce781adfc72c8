DROP TABLE ksrs_oauth2_certificate;
