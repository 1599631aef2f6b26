-- sql/schema.sql: the mxkit database schema, the one source of truth.
--
-- Applied to an empty database it creates the current schema; it is
-- safe to apply again (every statement is IF NOT EXISTS / idempotent).
-- Later changes go in migrations/NNNN-*.sql and are also folded in here,
-- together with that migration's schema_version row (INSERT IGNORE), so a
-- fresh install starts at the newest version; tests check that both paths
-- give the same schema (see the comment atop mxkit-db-upgrade).
--
-- Conventions: addresses and domain names are stored lowercase (the
-- procedures in procedures.sql normalise them); the binary collation
-- keeps comparisons exact, so 'e' never matches 'é'. Passwords are
-- Dovecot scheme-prefixed hashes ({SHA512-CRYPT}$6$..., {ARGON2ID}...),
-- never plain text.

CREATE TABLE IF NOT EXISTS schema_version (
	version     INT UNSIGNED NOT NULL PRIMARY KEY,
	description VARCHAR(255) NOT NULL,
	applied_at  TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS domains (
	id          INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
	name        VARCHAR(255) NOT NULL,
	active      TINYINT(1) NOT NULL DEFAULT 1,
	-- Next hop for this domain's mail in transport(5) syntax, e.g.
	-- 'lmtp:inet:[10.0.0.5]:24' when its mailboxes live on another
	-- backend; NULL delivers through the default virtual_transport.
	transport   VARCHAR(255) NULL DEFAULT NULL,
	created_at  TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
	UNIQUE KEY domains_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS users (
	id          INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
	domain_id   INT UNSIGNED NOT NULL,
	address     VARCHAR(320) NOT NULL,
	password    VARCHAR(255) NOT NULL,
	active      TINYINT(1) NOT NULL DEFAULT 1,
	quota_bytes BIGINT UNSIGNED NOT NULL DEFAULT 0,
	created_at  TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
	updated_at  TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
	UNIQUE KEY users_address (address),
	KEY users_domain (domain_id),
	CONSTRAINT users_domain_fk FOREIGN KEY (domain_id) REFERENCES domains (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One row per (source, destination). source is 'local@domain' or the
-- catch-all '@domain'; destination is one address, local or remote.
CREATE TABLE IF NOT EXISTS aliases (
	id          INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
	domain_id   INT UNSIGNED NOT NULL,
	source      VARCHAR(320) NOT NULL,
	destination VARCHAR(320) NOT NULL,
	active      TINYINT(1) NOT NULL DEFAULT 1,
	created_at  TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
	UNIQUE KEY aliases_pair (source, destination),
	KEY aliases_destination (destination),
	KEY aliases_domain (domain_id),
	CONSTRAINT aliases_domain_fk FOREIGN KEY (domain_id) REFERENCES domains (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

INSERT IGNORE INTO schema_version (version, description) VALUES (1, 'initial schema');

-- Senders too long for an SRS address (migration 0002): KEY is the
-- base32hex SHA-1 of the sender, which is kept exactly as written until
-- expires_at (UTC). See lib/mx_srs.h and migrations/0002-srs-senders.sql.
CREATE TABLE IF NOT EXISTS srs_senders (
	srs_key     CHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
	sender      VARCHAR(520) NOT NULL,
	expires_at  DATETIME NOT NULL,
	KEY srs_senders_expires (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

INSERT IGNORE INTO schema_version (version, description) VALUES (2, 'srs_senders: senders too long for an SRS address');

-- Auth module (migration 0003): users.app_passwords_only and the optional
-- userdb columns, app passwords and the lockout's failed logins. See
-- migrations/0003-auth.sql and dovecot-plugins/auth.
ALTER TABLE users
	ADD COLUMN IF NOT EXISTS app_passwords_only TINYINT(1) NOT NULL DEFAULT 0 AFTER active,
	ADD COLUMN IF NOT EXISTS home VARCHAR(255) NULL DEFAULT NULL AFTER quota_bytes,
	ADD COLUMN IF NOT EXISTS mail VARCHAR(255) NULL DEFAULT NULL AFTER home,
	ADD COLUMN IF NOT EXISTS uid INT UNSIGNED NULL DEFAULT NULL AFTER mail,
	ADD COLUMN IF NOT EXISTS gid INT UNSIGNED NULL DEFAULT NULL AFTER uid;

CREATE TABLE IF NOT EXISTS app_passwords (
	id          INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
	user_id     INT UNSIGNED NOT NULL,
	name        VARCHAR(64) NOT NULL,
	hash        VARCHAR(255) NOT NULL,
	created     TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
	last_used   TIMESTAMP NULL DEFAULT NULL,
	revoked     TIMESTAMP NULL DEFAULT NULL,
	UNIQUE KEY app_passwords_name (user_id, name),
	CONSTRAINT app_passwords_user_fk FOREIGN KEY (user_id) REFERENCES users (id)
		ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS auth_failures (
	id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
	kind        ENUM('account', 'address') NOT NULL,
	subject     VARCHAR(320) NOT NULL,
	failed_at   TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
	KEY auth_failures_subject (kind, subject, failed_at),
	KEY auth_failures_time (failed_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

INSERT IGNORE INTO schema_version (version, description) VALUES (3, 'auth: app passwords, lockout, userdb fields');

-- Spam-training events (migration 0004): one row per message moved into
-- or out of Junk, its state and the backend's answer. See
-- migrations/0004-training.sql and dovecot-plugins/training/.
CREATE TABLE IF NOT EXISTS training_events (
	id             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
	username       VARCHAR(320) NOT NULL,
	message_key    CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	message_id     VARCHAR(998) NOT NULL DEFAULT '',
	class          ENUM('spam', 'ham') NOT NULL,
	source_mailbox VARCHAR(255) NOT NULL DEFAULT '',
	dest_mailbox   VARCHAR(255) NOT NULL,
	created_at     DATETIME(3) NOT NULL DEFAULT UTC_TIMESTAMP(3),
	updated_at     DATETIME(3) NOT NULL DEFAULT UTC_TIMESTAMP(3),
	state          ENUM('pending', 'done', 'skipped', 'failed') NOT NULL DEFAULT 'pending',
	attempts       INT UNSIGNED NOT NULL DEFAULT 0,
	result         VARCHAR(512) NOT NULL DEFAULT '',
	message_size   BIGINT UNSIGNED NOT NULL DEFAULT 0,
	message        MEDIUMBLOB NULL,
	KEY training_events_state (state, id),
	KEY training_events_message (username, message_key, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

INSERT IGNORE INTO schema_version (version, description) VALUES (4, 'training_events: spam-training events');

-- DKIM signing keys (migration 0005): rows with active = 1 sign; exactly one
-- of key_path and key_pem. See migrations/0005-dkim-keys.sql and mxkit-dkim-keygen(8).
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

INSERT IGNORE INTO schema_version (version, description) VALUES (5, 'dkim_keys: DKIM signing keys');
