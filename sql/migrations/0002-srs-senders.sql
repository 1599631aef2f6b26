-- sql/migrations/0002-srs-senders.sql: senders too long for an SRS address.
--
-- When the SRS address of a sender would exceed the 64 octets RFC 5321
-- allows in a local part, mxkit-srs and mxkit-mapd keep the sender here
-- and write SRS0=HHHH=TT=1=KEY@srs-domain instead (lib/mx_srs.h; the
-- scheme of PostSRSd 2's database mode). KEY is the base32hex SHA-1 of
-- the sender (32 characters of 0-9A-V, upper case); the sender is kept
-- exactly as it was written (case and quoting preserved), since bounces
-- go back to it. Rows live until expires_at (UTC, the SRS max_age after
-- the last rewrite, plus a day); writers upsert (the same sender always
-- has the same key) and purge expired rows.
CREATE TABLE IF NOT EXISTS srs_senders (
	srs_key     CHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
	sender      VARCHAR(520) NOT NULL,
	expires_at  DATETIME NOT NULL,
	KEY srs_senders_expires (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

INSERT INTO schema_version (version, description) VALUES (2, 'srs_senders: senders too long for an SRS address');
