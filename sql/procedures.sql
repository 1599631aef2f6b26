-- sql/procedures.sql: the stored procedures an administrator uses from the
-- plain mysql CLI to manage domains, users and aliases, e.g.
--
--     mysql mxkit -e "CALL add_user('Alice@Example.org', 's3cret-pass')"
--
-- Applying this file again replaces every routine by the same text, so it
-- is idempotent; mxkit-db-upgrade re-applies it after every upgrade. It
-- needs the tables of schema.sql and the CREATE ROUTINE privilege (with
-- binary logging on, stored functions also need SUPER or
-- log_bin_trust_function_creators=1).
--
-- Rules every procedure follows:
--   * Addresses and domain names are trimmed and lowercased before use.
--     Local parts must be RFC 5322 dot-atoms (a quoted local part is
--     refused), domains LDH host names of at least two labels, limits
--     64 octets (local part) and 255 (domain).
--   * Bad input fails with SQLSTATE 45000 and a message that names the
--     procedure and the offending value. All checks and writes run in one
--     transaction that a failure rolls back: a failing call changes
--     nothing. Each procedure commits its own work (START TRANSACTION also
--     commits whatever the calling session had left open).
--   * Passwords are stored only as {SHA512-CRYPT}$6$<16-char salt>$... and
--     are never copied into a statement that reaches the binary log: the
--     hash is computed into a local variable first. The CALL itself, with
--     the clear password as an argument, is what the general query log
--     records when that log is on.
--
-- Helpers are named mxkit_*; the user-facing procedures are the names in
-- DESIGN.md ("User-facing names").

-- Routines keep the sql_mode and character set they were created with:
-- pin both so the text below means the same on every server.
SET NAMES utf8mb4 COLLATE utf8mb4_bin;
SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION';

DELIMITER //

-- ---------------------------------------------------------------------
-- Helpers: normalising, validating, failing
-- ---------------------------------------------------------------------

-- mxkit_fail(proc, what): raise the error every procedure reports,
-- "<proc>: <what>".
CREATE OR REPLACE PROCEDURE mxkit_fail(
	p_proc VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
	p_what VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin)
	NO SQL
BEGIN
	DECLARE v_msg VARCHAR(1100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin
		DEFAULT LEFT(CONCAT(p_proc, ': ', p_what), 500);
	SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = v_msg;
END//

-- mxkit_clean(s): s without surrounding whitespace, lowercased.
CREATE OR REPLACE FUNCTION mxkit_clean(
	p_s VARCHAR(8192) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin)
	RETURNS VARCHAR(8192) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin
	DETERMINISTIC NO SQL
RETURN LOWER(REGEXP_REPLACE(p_s, '^[[:space:]]+|[[:space:]]+$', ''))//

-- mxkit_shown(s): s quoted for an error message, cut to a readable length.
CREATE OR REPLACE FUNCTION mxkit_shown(
	p_s VARCHAR(8192) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin)
	RETURNS VARCHAR(200) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin
	DETERMINISTIC NO SQL
RETURN IF(p_s IS NULL, 'NULL',
	CONCAT('''', IF(CHAR_LENGTH(p_s) > 100, CONCAT(LEFT(p_s, 100), '...'), p_s), ''''))//

-- mxkit_domain_problem(d): NULL when the normalised d is a valid domain
-- name (LDH labels of 1 to 63 characters, at least two labels, not all
-- digits at the end, at most 255 octets), else what is wrong with it.
CREATE OR REPLACE FUNCTION mxkit_domain_problem(
	p_d VARCHAR(8192) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin)
	RETURNS VARCHAR(200) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin
	DETERMINISTIC NO SQL
RETURN CASE
	WHEN p_d IS NULL OR p_d = '' THEN 'the domain is empty'
	WHEN LENGTH(p_d) > 255 THEN 'the domain is longer than 255 characters'
	WHEN p_d REGEXP '[^ -~]' THEN 'the domain has non-ASCII characters (give an IDN in its xn-- form)'
	WHEN LOCATE('.', p_d) = 0 THEN 'the domain needs at least two labels (name.tld)'
	WHEN p_d NOT REGEXP '^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?[.])+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'
		THEN 'the domain must be dot-separated labels of letters, digits and inner hyphens, 63 characters at most each'
	WHEN p_d REGEXP '[.][0-9]+$' THEN 'the domain ends in an all-digit label'
	ELSE NULL
END//

-- mxkit_address_problem(a): NULL when the normalised a is a valid
-- local@domain address (dot-atom local part of at most 64 octets), else
-- what is wrong with it.
CREATE OR REPLACE FUNCTION mxkit_address_problem(
	p_a VARCHAR(8192) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin)
	RETURNS VARCHAR(200) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin
	DETERMINISTIC NO SQL
BEGIN
	DECLARE v_at INT;
	DECLARE v_local VARCHAR(8192) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
	IF p_a IS NULL OR p_a = '' THEN
		RETURN 'it is empty';
	END IF;
	IF LOCATE('"', p_a) > 0 THEN
		RETURN 'quoted local parts are not supported';
	END IF;
	-- The domain follows the last '@'; any other '@' is in the local part.
	SET v_at = CHAR_LENGTH(p_a) - LOCATE('@', REVERSE(p_a)) + 1;
	IF LOCATE('@', p_a) = 0 THEN
		RETURN 'it has no @domain';
	END IF;
	SET v_local = LEFT(p_a, v_at - 1);
	IF v_local = '' THEN
		RETURN 'the local part is empty';
	END IF;
	IF LOCATE('@', v_local) > 0 THEN
		RETURN 'it has more than one @';
	END IF;
	IF LENGTH(v_local) > 64 THEN
		RETURN 'the local part is longer than 64 characters';
	END IF;
	IF v_local NOT REGEXP '^[a-z0-9!#$%&''*+/=?^_`{|}~-]+([.][a-z0-9!#$%&''*+/=?^_`{|}~-]+)*$' THEN
		RETURN 'the local part must be dot-separated atoms of letters, digits and !#$%&''*+-/=?^_`{|}~';
	END IF;
	RETURN mxkit_domain_problem(SUBSTRING(p_a, v_at + 1));
END//

-- mxkit_check_domain(proc, value): value normalised, or an error naming
-- proc and value when it is not a valid domain name.
CREATE OR REPLACE FUNCTION mxkit_check_domain(
	p_proc VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
	p_value VARCHAR(8192) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin)
	RETURNS VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin
	DETERMINISTIC NO SQL
BEGIN
	DECLARE v_d VARCHAR(8192) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT mxkit_clean(p_value);
	DECLARE v_problem VARCHAR(200) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT mxkit_domain_problem(v_d);
	IF v_problem IS NOT NULL THEN
		CALL mxkit_fail(p_proc, CONCAT(mxkit_shown(p_value), ' is not a valid domain name: ', v_problem));
	END IF;
	RETURN v_d;
END//

-- mxkit_check_address(proc, value): value normalised, or an error naming
-- proc and value when it is not a valid local@domain address.
CREATE OR REPLACE FUNCTION mxkit_check_address(
	p_proc VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
	p_value VARCHAR(8192) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin)
	RETURNS VARCHAR(320) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin
	DETERMINISTIC NO SQL
BEGIN
	DECLARE v_a VARCHAR(8192) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT mxkit_clean(p_value);
	DECLARE v_problem VARCHAR(200) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT mxkit_address_problem(v_a);
	IF v_problem IS NOT NULL THEN
		CALL mxkit_fail(p_proc, CONCAT(mxkit_shown(p_value), ' is not a valid address: ', v_problem));
	END IF;
	RETURN v_a;
END//

-- mxkit_domain_of(address): the domain part of a checked address.
CREATE OR REPLACE FUNCTION mxkit_domain_of(
	p_a VARCHAR(320) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin)
	RETURNS VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin
	DETERMINISTIC NO SQL
RETURN SUBSTRING_INDEX(p_a, '@', -1)//

-- mxkit_domain_id(proc, domain): the id of an existing domain, or an
-- error telling how to add it.
CREATE OR REPLACE FUNCTION mxkit_domain_id(
	p_proc VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
	p_domain VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin)
	RETURNS INT UNSIGNED
	READS SQL DATA
BEGIN
	DECLARE v_id INT UNSIGNED DEFAULT (SELECT d.id FROM domains d WHERE d.name = p_domain);
	IF v_id IS NULL THEN
		CALL mxkit_fail(p_proc, CONCAT('domain ', p_domain, ' does not exist (CALL add_domain(''',
			p_domain, ''') first)'));
	END IF;
	RETURN v_id;
END//

-- mxkit_user_id(proc, address): the id of an existing user, or an error.
CREATE OR REPLACE FUNCTION mxkit_user_id(
	p_proc VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
	p_address VARCHAR(320) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin)
	RETURNS INT UNSIGNED
	READS SQL DATA
BEGIN
	DECLARE v_id INT UNSIGNED DEFAULT (SELECT u.id FROM users u WHERE u.address = p_address);
	IF v_id IS NULL THEN
		CALL mxkit_fail(p_proc, CONCAT('user ', p_address, ' does not exist'));
	END IF;
	RETURN v_id;
END//

-- mxkit_hash_password(proc, password): the Dovecot {SHA512-CRYPT} hash of
-- password with a fresh 16-character salt, or an error when the password
-- is empty or shorter than 8 characters. The error never shows it.
CREATE OR REPLACE FUNCTION mxkit_hash_password(
	p_proc VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
	p_password VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin)
	RETURNS VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin
	NOT DETERMINISTIC NO SQL
BEGIN
	-- 12 random bytes are 16 base64 characters, no padding; base64 with
	-- '+' mapped to '.' is exactly crypt's alphabet ./0-9A-Za-z.
	DECLARE v_salt CHAR(16) CHARACTER SET ascii COLLATE ascii_bin
		DEFAULT REPLACE(TO_BASE64(RANDOM_BYTES(12)), '+', '.');
	DECLARE v_hash VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin;
	IF p_password IS NULL OR p_password = '' THEN
		CALL mxkit_fail(p_proc, 'the password is empty');
	END IF;
	IF CHAR_LENGTH(p_password) < 8 THEN
		CALL mxkit_fail(p_proc, 'the password is shorter than 8 characters');
	END IF;
	SET v_hash = ENCRYPT(p_password, CONCAT('$6$', v_salt));
	-- A crypt() without SHA-512 support would return NULL or a DES hash.
	IF v_hash IS NULL OR LEFT(v_hash, 20) <> CONCAT('$6$', v_salt, '$') THEN
		CALL mxkit_fail(p_proc, 'this server''s ENCRYPT() cannot make $6$ (SHA512-CRYPT) hashes');
	END IF;
	RETURN CONCAT('{SHA512-CRYPT}', v_hash);
END//

-- mxkit_list_count(list) and mxkit_list_item(list, i): the comma
-- separated entries of list, 1-based, without surrounding whitespace.
CREATE OR REPLACE FUNCTION mxkit_list_count(
	p_list VARCHAR(8192) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin)
	RETURNS INT
	DETERMINISTIC NO SQL
RETURN CHAR_LENGTH(p_list) - CHAR_LENGTH(REPLACE(p_list, ',', '')) + 1//

CREATE OR REPLACE FUNCTION mxkit_list_item(
	p_list VARCHAR(8192) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
	p_i INT)
	RETURNS VARCHAR(8192) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin
	DETERMINISTIC NO SQL
RETURN REGEXP_REPLACE(SUBSTRING_INDEX(SUBSTRING_INDEX(p_list, ',', p_i), ',', -1),
	'^[[:space:]]+|[[:space:]]+$', '')//

-- mxkit_alias_source(proc, source, OUT src, OUT domain_id): check an
-- alias source, 'local@domain' or the catch-all '@domain', in an
-- existing domain; hand back its normalised form and the domain's id.
CREATE OR REPLACE PROCEDURE mxkit_alias_source(
	p_proc VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
	p_source VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
	OUT p_src VARCHAR(320) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
	OUT p_domain_id INT UNSIGNED)
	READS SQL DATA
BEGIN
	DECLARE v_s VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT mxkit_clean(p_source);
	DECLARE v_problem VARCHAR(200) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
	IF LEFT(v_s, 1) = '@' THEN
		SET v_problem = mxkit_domain_problem(SUBSTRING(v_s, 2));
		IF v_problem IS NOT NULL THEN
			CALL mxkit_fail(p_proc, CONCAT(mxkit_shown(p_source),
				' is not a valid catch-all (@domain): ', v_problem));
		END IF;
		SET p_src = v_s;
	ELSE
		SET p_src = mxkit_check_address(p_proc, p_source);
	END IF;
	SET p_domain_id = mxkit_domain_id(p_proc, mxkit_domain_of(p_src));
END//

-- mxkit_destinations(proc, list, OUT normalised): check a destination
-- list (one address or several separated by commas, whitespace allowed
-- around them) and hand it back normalised as 'a,b,c'. Empty entries and
-- an address given twice are errors.
CREATE OR REPLACE PROCEDURE mxkit_destinations(
	p_proc VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
	p_list VARCHAR(8192) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
	OUT p_out VARCHAR(8192) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin)
	NO SQL
BEGIN
	DECLARE v_n INT DEFAULT mxkit_list_count(IFNULL(p_list, ''));
	DECLARE v_i INT DEFAULT 1;
	DECLARE v_item VARCHAR(8192) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
	DECLARE v_addr VARCHAR(320) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
	SET p_out = '';
	IF p_list IS NULL OR mxkit_clean(p_list) = '' THEN
		CALL mxkit_fail(p_proc, 'the destination is empty');
	END IF;
	WHILE v_i <= v_n DO
		SET v_item = mxkit_list_item(p_list, v_i);
		IF v_item = '' THEN
			CALL mxkit_fail(p_proc, CONCAT('entry ', v_i, ' of the destination list ',
				mxkit_shown(p_list), ' is empty'));
		END IF;
		SET v_addr = mxkit_check_address(p_proc, v_item);
		IF FIND_IN_SET(v_addr, p_out) > 0 THEN
			CALL mxkit_fail(p_proc, CONCAT('destination ', v_addr, ' is listed twice'));
		END IF;
		SET p_out = IF(p_out = '', v_addr, CONCAT(p_out, ',', v_addr));
		SET v_i = v_i + 1;
	END WHILE;
END//

-- ---------------------------------------------------------------------
-- Domains
-- ---------------------------------------------------------------------

-- add_domain(name): start hosting mail for a domain.
CREATE OR REPLACE PROCEDURE add_domain(
	p_name VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin)
	MODIFIES SQL DATA
BEGIN
	DECLARE v_name VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
	DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;
	SET v_name = mxkit_check_domain('add_domain', p_name);
	START TRANSACTION;
	IF EXISTS (SELECT 1 FROM domains d WHERE d.name = v_name) THEN
		CALL mxkit_fail('add_domain', CONCAT(v_name, ' already exists'));
	END IF;
	INSERT INTO domains (name) VALUES (v_name);
	COMMIT;
END//

-- mxkit_domain_set(proc, name, active, transport, set_transport): the
-- shared body of enable_domain, disable_domain and set_domain_transport.
CREATE OR REPLACE PROCEDURE mxkit_domain_set(
	p_proc VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
	p_name VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
	p_active TINYINT,
	p_transport VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin)
	MODIFIES SQL DATA
BEGIN
	DECLARE v_id INT UNSIGNED;
	DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;
	START TRANSACTION;
	SET v_id = mxkit_domain_id(p_proc, mxkit_check_domain(p_proc, p_name));
	IF p_active IS NOT NULL THEN
		UPDATE domains d SET d.active = p_active WHERE d.id = v_id;
	ELSE
		UPDATE domains d SET d.transport = NULLIF(p_transport, '') WHERE d.id = v_id;
	END IF;
	COMMIT;
END//

CREATE OR REPLACE PROCEDURE disable_domain(
	p_name VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin)
	MODIFIES SQL DATA
CALL mxkit_domain_set('disable_domain', p_name, 0, NULL)//

CREATE OR REPLACE PROCEDURE enable_domain(
	p_name VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin)
	MODIFIES SQL DATA
CALL mxkit_domain_set('enable_domain', p_name, 1, NULL)//

-- set_domain_transport(name, transport): deliver the domain's mail to a
-- transport(5) next hop such as 'lmtp:inet:[10.0.0.5]:24' (when its
-- mailboxes live on another backend); NULL or '' restores the default.
CREATE OR REPLACE PROCEDURE set_domain_transport(
	p_name VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
	p_transport VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin)
	MODIFIES SQL DATA
BEGIN
	DECLARE v_t VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin
		DEFAULT REGEXP_REPLACE(IFNULL(p_transport, ''), '^[[:space:]]+|[[:space:]]+$', '');
	IF v_t <> '' AND (LENGTH(v_t) > 255 OR v_t NOT REGEXP '^[A-Za-z0-9_.-]*:[!-~]*$') THEN
		CALL mxkit_fail('set_domain_transport', CONCAT(mxkit_shown(p_transport),
			' is not a transport: expected transport:nexthop, printable ASCII without spaces, 255 characters at most'));
	END IF;
	CALL mxkit_domain_set('set_domain_transport', p_name, NULL, v_t);
END//

-- ---------------------------------------------------------------------
-- Users
-- ---------------------------------------------------------------------

-- add_user(address, password): create a mailbox in an existing domain.
CREATE OR REPLACE PROCEDURE add_user(
	p_address VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
	p_password VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin)
	MODIFIES SQL DATA
BEGIN
	DECLARE v_address VARCHAR(320) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
	DECLARE v_hash VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
	DECLARE v_domain_id INT UNSIGNED;
	DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;
	SET v_address = mxkit_check_address('add_user', p_address);
	SET v_hash = mxkit_hash_password('add_user', p_password);
	START TRANSACTION;
	SET v_domain_id = mxkit_domain_id('add_user', mxkit_domain_of(v_address));
	IF EXISTS (SELECT 1 FROM users u WHERE u.address = v_address) THEN
		CALL mxkit_fail('add_user', CONCAT(v_address, ' already exists'));
	END IF;
	INSERT INTO users (domain_id, address, password) VALUES (v_domain_id, v_address, v_hash);
	COMMIT;
END//

-- set_password(address, password): replace a user's password.
CREATE OR REPLACE PROCEDURE set_password(
	p_address VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
	p_password VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin)
	MODIFIES SQL DATA
BEGIN
	DECLARE v_address VARCHAR(320) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
	DECLARE v_hash VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
	DECLARE v_id INT UNSIGNED;
	DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;
	SET v_address = mxkit_check_address('set_password', p_address);
	SET v_hash = mxkit_hash_password('set_password', p_password);
	START TRANSACTION;
	SET v_id = mxkit_user_id('set_password', v_address);
	UPDATE users u SET u.password = v_hash WHERE u.id = v_id;
	COMMIT;
END//

-- mxkit_user_set_active(proc, address, active): the shared body of
-- enable_user and disable_user.
CREATE OR REPLACE PROCEDURE mxkit_user_set_active(
	p_proc VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
	p_address VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
	p_active TINYINT)
	MODIFIES SQL DATA
BEGIN
	DECLARE v_id INT UNSIGNED;
	DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;
	START TRANSACTION;
	SET v_id = mxkit_user_id(p_proc, mxkit_check_address(p_proc, p_address));
	UPDATE users u SET u.active = p_active WHERE u.id = v_id;
	COMMIT;
END//

CREATE OR REPLACE PROCEDURE disable_user(
	p_address VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin)
	MODIFIES SQL DATA
CALL mxkit_user_set_active('disable_user', p_address, 0)//

CREATE OR REPLACE PROCEDURE enable_user(
	p_address VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin)
	MODIFIES SQL DATA
CALL mxkit_user_set_active('enable_user', p_address, 1)//

-- delete_user(address): remove a mailbox, and the alias rows that deliver
-- to it (they would accept mail that then bounces). Aliases whose source
-- is this address stay: remove them with remove_alias.
CREATE OR REPLACE PROCEDURE delete_user(
	p_address VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin)
	MODIFIES SQL DATA
BEGIN
	DECLARE v_address VARCHAR(320) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
	DECLARE v_id INT UNSIGNED;
	DECLARE v_aliases INT;
	DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;
	SET v_address = mxkit_check_address('delete_user', p_address);
	START TRANSACTION;
	SET v_id = mxkit_user_id('delete_user', v_address);
	DELETE FROM aliases WHERE destination = v_address;
	SET v_aliases = ROW_COUNT();
	DELETE FROM users WHERE id = v_id;
	COMMIT;
	SELECT CONCAT('deleted ', v_address, ' and ', v_aliases,
		' alias row(s) delivering to it') AS delete_user;
END//

-- ---------------------------------------------------------------------
-- Aliases
-- ---------------------------------------------------------------------

-- mxkit_alias_change(proc, source, destinations, add): the shared body of
-- add_alias (add = 1: every pair must be new) and remove_alias (add = 0:
-- every pair must exist). All rows change or none.
CREATE OR REPLACE PROCEDURE mxkit_alias_change(
	p_proc VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
	p_source VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
	p_destinations VARCHAR(8192) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
	p_add TINYINT)
	MODIFIES SQL DATA
BEGIN
	DECLARE v_src VARCHAR(320) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
	DECLARE v_dests VARCHAR(8192) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
	DECLARE v_dest VARCHAR(320) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
	DECLARE v_domain_id INT UNSIGNED;
	DECLARE v_n INT;
	DECLARE v_i INT DEFAULT 1;
	DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;
	CALL mxkit_destinations(p_proc, p_destinations, v_dests);
	SET v_n = mxkit_list_count(v_dests);
	START TRANSACTION;
	CALL mxkit_alias_source(p_proc, p_source, v_src, v_domain_id);
	WHILE v_i <= v_n DO
		SET v_dest = mxkit_list_item(v_dests, v_i);
		IF p_add THEN
			IF EXISTS (SELECT 1 FROM aliases a WHERE a.source = v_src AND a.destination = v_dest) THEN
				CALL mxkit_fail(p_proc, CONCAT('alias ', v_src, ' -> ', v_dest, ' already exists'));
			END IF;
			INSERT INTO aliases (domain_id, source, destination) VALUES (v_domain_id, v_src, v_dest);
		ELSE
			DELETE FROM aliases WHERE source = v_src AND destination = v_dest;
			IF ROW_COUNT() = 0 THEN
				CALL mxkit_fail(p_proc, CONCAT('there is no alias ', v_src, ' -> ', v_dest));
			END IF;
		END IF;
		SET v_i = v_i + 1;
	END WHILE;
	COMMIT;
END//

-- add_alias(source, destinations): deliver mail for source ('local@domain'
-- or the catch-all '@domain', in an existing domain) to one address or a
-- comma separated list, local or remote. All rows or none are added.
CREATE OR REPLACE PROCEDURE add_alias(
	p_source VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
	p_destinations VARCHAR(8192) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin)
	MODIFIES SQL DATA
CALL mxkit_alias_change('add_alias', p_source, p_destinations, 1)//

-- remove_alias(source, destinations): remove the rows source -> each
-- destination (one address or a comma separated list). Every row must
-- exist; all are removed or none.
CREATE OR REPLACE PROCEDURE remove_alias(
	p_source VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
	p_destinations VARCHAR(8192) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin)
	MODIFIES SQL DATA
CALL mxkit_alias_change('remove_alias', p_source, p_destinations, 0)//

-- ---------------------------------------------------------------------
-- App passwords (Dovecot auth module, dovecot-plugins/auth)
-- ---------------------------------------------------------------------

-- mxkit_app_name(proc, name): the trimmed app password name, or an error
-- when it is empty, longer than 64 characters or not printable.
CREATE OR REPLACE FUNCTION mxkit_app_name(
	p_proc VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
	p_name VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin)
	RETURNS VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin
	DETERMINISTIC NO SQL
BEGIN
	DECLARE v_n VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin
		DEFAULT REGEXP_REPLACE(IFNULL(p_name, ''), '^[[:space:]]+|[[:space:]]+$', '');
	IF v_n = '' THEN
		CALL mxkit_fail(p_proc, 'the app password name is empty');
	END IF;
	IF CHAR_LENGTH(v_n) > 64 OR v_n REGEXP '[[:cntrl:]]' THEN
		CALL mxkit_fail(p_proc, CONCAT('app password name ', mxkit_shown(p_name),
			' must be 1 to 64 printable characters'));
	END IF;
	RETURN v_n;
END//

-- add_app_password(address, name): create a named password for one
-- device and print it once (24 random characters); only its hash is
-- stored. A revoked password of the same name is replaced.
CREATE OR REPLACE PROCEDURE add_app_password(
	p_address VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
	p_name VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin)
	MODIFIES SQL DATA
BEGIN
	DECLARE v_address VARCHAR(320) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
	DECLARE v_name VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
	DECLARE v_id INT UNSIGNED;
	-- 18 random bytes: 24 base64 characters, '+' and '/' made URL-safe.
	DECLARE v_password CHAR(24) CHARACTER SET ascii COLLATE ascii_bin
		DEFAULT REPLACE(REPLACE(TO_BASE64(RANDOM_BYTES(18)), '+', '-'), '/', '_');
	DECLARE v_hash VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
	DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;
	SET v_address = mxkit_check_address('add_app_password', p_address);
	SET v_name = mxkit_app_name('add_app_password', p_name);
	SET v_hash = mxkit_hash_password('add_app_password', v_password);
	START TRANSACTION;
	SET v_id = mxkit_user_id('add_app_password', v_address);
	IF EXISTS (SELECT 1 FROM app_passwords a WHERE a.user_id = v_id AND a.name = v_name
			AND a.revoked IS NULL) THEN
		CALL mxkit_fail('add_app_password', CONCAT(v_address, ' already has an app password named ',
			mxkit_shown(v_name), ' (revoke_app_password it first)'));
	END IF;
	DELETE FROM app_passwords WHERE user_id = v_id AND name = v_name;
	INSERT INTO app_passwords (user_id, name, hash) VALUES (v_id, v_name, v_hash);
	COMMIT;
	SELECT v_password AS app_password;
END//

-- revoke_app_password(address, name): the named password stops working
-- at once (its row stays, with the time of revocation).
CREATE OR REPLACE PROCEDURE revoke_app_password(
	p_address VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
	p_name VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin)
	MODIFIES SQL DATA
BEGIN
	DECLARE v_address VARCHAR(320) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
	DECLARE v_name VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
	DECLARE v_id INT UNSIGNED;
	DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;
	SET v_address = mxkit_check_address('revoke_app_password', p_address);
	SET v_name = mxkit_app_name('revoke_app_password', p_name);
	START TRANSACTION;
	SET v_id = mxkit_user_id('revoke_app_password', v_address);
	UPDATE app_passwords SET revoked = NOW()
		WHERE user_id = v_id AND name = v_name AND revoked IS NULL;
	IF ROW_COUNT() = 0 THEN
		CALL mxkit_fail('revoke_app_password', CONCAT(v_address, ' has no active app password named ',
			mxkit_shown(v_name)));
	END IF;
	COMMIT;
END//

-- set_app_passwords_only(address, on): with on = 1 the main password is
-- refused for IMAP, POP3, SMTP and ManageSieve; only app passwords work
-- there. on = 0 accepts the main password again.
CREATE OR REPLACE PROCEDURE set_app_passwords_only(
	p_address VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
	p_on TINYINT)
	MODIFIES SQL DATA
BEGIN
	DECLARE v_address VARCHAR(320) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
	DECLARE v_id INT UNSIGNED;
	DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;
	SET v_address = mxkit_check_address('set_app_passwords_only', p_address);
	IF p_on IS NULL OR p_on NOT IN (0, 1) THEN
		CALL mxkit_fail('set_app_passwords_only', 'the second argument must be 0 or 1');
	END IF;
	START TRANSACTION;
	SET v_id = mxkit_user_id('set_app_passwords_only', v_address);
	UPDATE users u SET u.app_passwords_only = p_on WHERE u.id = v_id;
	COMMIT;
END//

DELIMITER ;
