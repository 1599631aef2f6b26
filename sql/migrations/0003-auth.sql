-- sql/migrations/0003-auth.sql: what the Dovecot auth module (issue 6,
-- dovecot-plugins/auth) needs.
--
-- users gains app_passwords_only (the main password is refused for mail
-- clients: IMAP, POP3, SMTP, ManageSieve) and optional per-user userdb
-- fields: home, mail (mail location), uid, gid; NULL leaves dovecot.conf's
-- mail_home/mail_location/mail_uid/mail_gid in force.
-- app_passwords: named, revocable per-device passwords; only their
-- {SCHEME} hash is stored (add_app_password prints the password once).
-- auth_failures: one row per failed login, per account and per remote
-- address, timed by the database clock; the lockout counts the rows
-- inside its window, so every Dovecot host sharing the database agrees.
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

INSERT INTO schema_version (version, description) VALUES (3, 'auth: app passwords, lockout, userdb fields');
