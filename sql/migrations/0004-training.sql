-- sql/migrations/0004-training.sql: spam-training events (issue 7).
--
-- The Dovecot plugin mxkit_training records one row per message a user
-- copied, moved or appended into Junk (class spam) or moved out of Junk to
-- anything but Trash (class ham), once the IMAP command has committed.
-- message_key is the hex SHA-256 of the Message-ID (or of the message GUID
-- when it has none); the message text waits in `message` until mxkit-train
-- has sent it to the backend, and is then cleared. state: pending (not yet
-- trained; attempts counts the tries), done (the backend learned it;
-- result holds its answer), skipped (this user's message was already
-- trained in this class), failed (refused by the backend, too large, or
-- out of attempts). Times are UTC.
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

INSERT INTO schema_version (version, description) VALUES (4, 'training_events: spam-training events');
