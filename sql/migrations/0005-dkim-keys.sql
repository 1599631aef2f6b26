-- sql/migrations/0005-dkim-keys.sql: DKIM signing keys kept in the database.
--
-- mxkit-dkim signs with every row whose active = 1 (in addition to the
-- keys of its config file), reading them at start, on SIGUSR1 and every
-- dkim.refresh_interval. The private key is a file (key_path, mode 0600,
-- owned by the daemon's user) or the PEM itself (key_pem): exactly one.
-- Domains are stored lowercase. mxkit-dkim-keygen(8) writes the rows:
-- `new` inserts an inactive key, `activate` sets active = 1 and
-- activated_at once the DNS record is published, `retire` sets
-- active = 0 and retired_at (the row stays, as a record of the selector).
CREATE TABLE IF NOT EXISTS dkim_keys (
	id            INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
	domain        VARCHAR(253) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	selector      VARCHAR(63) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	algorithm     ENUM('rsa-sha256', 'ed25519-sha256') NOT NULL,
	key_path      VARCHAR(1024) NULL,
	key_pem       TEXT CHARACTER SET ascii COLLATE ascii_bin NULL,
	active        TINYINT(1) NOT NULL DEFAULT 0,
	created_at    DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
	activated_at  DATETIME NULL,
	retired_at    DATETIME NULL,
	UNIQUE KEY dkim_keys_domain_selector (domain, selector),
	KEY dkim_keys_active (active, domain),
	CONSTRAINT dkim_keys_one_source CHECK ((key_path IS NULL) <> (key_pem IS NULL))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

INSERT INTO schema_version (version, description) VALUES (5, 'dkim_keys: DKIM signing keys');
