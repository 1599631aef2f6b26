/* training-plugin.c: the mxkit_training Dovecot mail plugin's hooks.
 *
 * Like Dovecot's quota plugin it wraps each mailbox's copy, save_finish and
 * transaction begin/commit/rollback. copy() sees IMAP COPY and MOVE (told
 * apart by ctx->moving), save_finish() sees APPEND. Events are collected in
 * the transaction and only written once the commit has succeeded, so a
 * failed or cancelled command trains nothing. Copies whose source is the
 * "raw" storage (Sieve fileinto during delivery) are not a user's action
 * and are skipped. Writing the events waits until the command has
 * answered: committed transactions are queued on the user and written from
 * a zero timeout of the ioloop (or at once where there is no ioloop, and
 * at the latest when the user is deinitialized). Events the database does
 * not take go to the user's spool; while the spool holds events, new ones
 * go there too, behind them, so that mxkit-train records a user's events
 * in the order they happened. */
#include "lib.h"
#include "array.h"
#include "hex-binary.h"
#include "ioloop.h"
#include "istream.h"
#include "sha2.h"
#include "str.h"
#include "mail-storage-private.h"
#include "mail-storage-hooks.h"
#include "mail-user.h"
#include "module-context.h"

#include <time.h>

#include "mx_db.h"
#include "train-spool.h"

#include "training-plugin.h"

#ifndef MXKIT_SBINDIR
#define MXKIT_SBINDIR "/usr/sbin"
#endif
#define TRAINING_CONFIG_DEFAULT "/etc/mxkit/mxkit.conf"

#define TRAINING_USER_CONTEXT(obj) \
	MODULE_CONTEXT(obj, training_user_module)
#define TRAINING_BOX_CONTEXT(obj) \
	MODULE_CONTEXT(obj, training_storage_module)
#define TRAINING_TRANS_CONTEXT(obj) \
	MODULE_CONTEXT(obj, training_storage_module)

struct training_transaction;

struct training_user {
	union mail_user_module_context module_ctx;
	struct training_settings set;
	struct mail_user *user;
	/* committed transactions whose events are not written yet */
	ARRAY(struct training_transaction *) queue;
	struct timeout *to_flush;
};

struct training_mailbox {
	union mailbox_module_context module_ctx;
};

struct training_transaction {
	union mailbox_transaction_module_context module_ctx;
	pool_t pool;
	ARRAY(struct training_event) events;
	bool in_copy;
};

const char *mxkit_training_plugin_version = DOVECOT_ABI_VERSION;
void mxkit_training_plugin_init(struct module *module);
void mxkit_training_plugin_deinit(void);

static MODULE_CONTEXT_DEFINE_INIT(training_user_module, &mail_user_module_register);
static MODULE_CONTEXT_DEFINE_INIT(training_storage_module, &mail_storage_module_register);

static bool training_box_is(struct mailbox *box, const char *special_use, const char *name)
{
	if (mailbox_has_special_use(box, special_use))
		return TRUE;
	return name[0] != '\0' && strcmp(mailbox_get_vname(box), name) == 0;
}

static void training_key(const void *data, size_t size, char key[65])
{
	unsigned char digest[SHA256_RESULTLEN];

	sha256_get_digest(data, size, digest);
	i_assert(sizeof(digest) * 2 < 65);
	memcpy(key, binary_to_hex(digest, sizeof(digest)), sizeof(digest) * 2);
	key[sizeof(digest) * 2] = '\0';
}

/* Copy the message text (up to max_size) and its identity into ev. */
static int training_event_fill(struct training_transaction *tt, struct mail *mail,
			       size_t max_size, struct training_event *ev)
{
	const char *msgid = NULL, *guid = NULL;
	struct istream *input;
	const unsigned char *data;
	size_t size;
	buffer_t *buf;
	bool too_large = FALSE;
	int ret;

	if (mail_get_first_header(mail, "Message-ID", &msgid) < 0)
		return -1;
	msgid = msgid == NULL ? "" : t_str_trim(msgid, " \t\r\n");
	if (strlen(msgid) > TRAINING_MESSAGE_ID_MAX)
		msgid = t_strndup(msgid, TRAINING_MESSAGE_ID_MAX);
	if (msgid[0] != '\0') {
		training_key(msgid, strlen(msgid), ev->key);
	} else {
		if (mail_get_special(mail, MAIL_FETCH_GUID, &guid) < 0 || guid[0] == '\0')
			return -1;
		training_key(guid, strlen(guid), ev->key);
	}
	ev->message_id = p_strdup(tt->pool, msgid);

	if (mail_get_stream_because(mail, NULL, NULL, "mxkit training", &input) < 0)
		return -1;
	buf = buffer_create_dynamic(tt->pool, 4096);
	ev->full_size = 0;
	while ((ret = i_stream_read_more(input, &data, &size)) > 0) {
		ev->full_size += size;
		if (!too_large && buf->used + size > max_size)
			too_large = TRUE;
		if (!too_large)
			buffer_append(buf, data, size);
		i_stream_skip(input, size);
		if (too_large)
			break;
	}
	if (input->stream_errno != 0)
		return -1;
	ev->message = too_large ? NULL : buf->data;
	ev->message_len = too_large ? 0 : buf->used;
	return 0;
}

/* Now as "YYYY-MM-DD HH:MM:SS.mmm" UTC, the form of training_events.created_at. */
static void training_now(char out[TRAINING_TIME_LEN + 1])
{
	struct timespec ts;
	struct tm tm;

	if (clock_gettime(CLOCK_REALTIME, &ts) < 0 || gmtime_r(&ts.tv_sec, &tm) == NULL ||
	    i_snprintf(out, TRAINING_TIME_LEN + 1, "%04d-%02d-%02d %02d:%02d:%02d.%03ld",
		       tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		       tm.tm_sec, ts.tv_nsec / 1000000) < 0)
		out[0] = '\0'; /* the database's time then */
}

static void training_event_add(struct training_transaction *tt, struct mail *mail,
			       const struct training_settings *set,
			       enum training_class class, const char *source,
			       const char *dest)
{
	struct training_event ev;

	i_zero(&ev);
	ev.user = mail->box->storage->user->username;
	training_now(ev.created);
	ev.class = class;
	ev.source = p_strdup(tt->pool, source);
	ev.dest = p_strdup(tt->pool, dest);
	if (training_event_fill(tt, mail, set->max_size, &ev) < 0) {
		i_error("mxkit_training: cannot read message %u in %s: %s", mail->uid,
			mailbox_get_vname(mail->box),
			mailbox_get_last_internal_error(mail->box, NULL));
		return;
	}
	array_push_back(&tt->events, &ev);
}

static int training_copy(struct mail_save_context *ctx, struct mail *mail)
{
	struct mailbox_transaction_context *t = ctx->transaction;
	struct mailbox *dest = t->box;
	struct training_mailbox *tbox = TRAINING_BOX_CONTEXT(dest);
	struct training_transaction *tt = TRAINING_TRANS_CONTEXT(t);
	struct training_user *tuser = TRAINING_USER_CONTEXT(dest->storage->user);
	unsigned int before;
	int ret;

	if (tt == NULL || tuser == NULL ||
	    strcmp(mail->box->storage->name, "raw") == 0)
		return tbox->module_ctx.super.copy(ctx, mail);

	before = array_count(&tt->events);
	bool dest_junk = training_box_is(dest, "\\Junk", tuser->set.junk);
	bool src_junk = training_box_is(mail->box, "\\Junk", tuser->set.junk);
	if (dest_junk && !src_junk) {
		training_event_add(tt, mail, &tuser->set, TRAINING_SPAM,
				   mailbox_get_vname(mail->box), mailbox_get_vname(dest));
	} else if (src_junk && !dest_junk && ctx->moving &&
		   !training_box_is(dest, "\\Trash", tuser->set.trash)) {
		training_event_add(tt, mail, &tuser->set, TRAINING_HAM,
				   mailbox_get_vname(mail->box), mailbox_get_vname(dest));
	}

	tt->in_copy = TRUE;
	ret = tbox->module_ctx.super.copy(ctx, mail);
	tt->in_copy = FALSE;
	if (ret < 0 && array_count(&tt->events) > before)
		array_delete(&tt->events, before, array_count(&tt->events) - before);
	return ret;
}

static int training_save_finish(struct mail_save_context *ctx)
{
	struct mailbox_transaction_context *t = ctx->transaction;
	struct mailbox *dest = t->box;
	struct training_mailbox *tbox = TRAINING_BOX_CONTEXT(dest);
	struct training_transaction *tt = TRAINING_TRANS_CONTEXT(t);
	struct training_user *tuser = TRAINING_USER_CONTEXT(dest->storage->user);
	bool append = tt != NULL && tuser != NULL && !tt->in_copy &&
		!ctx->copying_or_moving && ctx->dest_mail != NULL &&
		training_box_is(dest, "\\Junk", tuser->set.junk);
	struct mail *dest_mail = ctx->dest_mail;

	if (tbox->module_ctx.super.save_finish(ctx) < 0)
		return -1;
	if (append)
		training_event_add(tt, dest_mail, &tuser->set, TRAINING_SPAM, "",
				   mailbox_get_vname(dest));
	return 0;
}

static struct mailbox_transaction_context *
training_transaction_begin(struct mailbox *box, enum mailbox_transaction_flags flags,
			   const char *reason)
{
	struct training_mailbox *tbox = TRAINING_BOX_CONTEXT(box);
	struct mailbox_transaction_context *t;
	struct training_transaction *tt;
	pool_t pool;

	t = tbox->module_ctx.super.transaction_begin(box, flags, reason);
	pool = pool_alloconly_create("mxkit training transaction", 4096);
	tt = p_new(pool, struct training_transaction, 1);
	tt->pool = pool;
	p_array_init(&tt->events, pool, 8);
	MODULE_CONTEXT_SET(t, training_storage_module, tt);
	return t;
}

/* Write one transaction's events: to the database unless the spool must
 * be used (*spool). Returns the number of events recorded in the database. */
static unsigned training_write(struct training_user *tuser, const struct training_event *events,
			       unsigned count, bool *spool)
{
	const char *user = tuser->user->username, *error;

	if (!*spool) {
		if (training_store_events(&tuser->set, events, count, &error) == 0)
			return count;
		i_warning("mxkit_training: database unavailable (%s): spooling %u training event(s) "
			  "of %s to %s", error, count, user,
			  tuser->set.spool_path != NULL ? tuser->set.spool_path : "(unknown)");
		*spool = TRUE;
	}
	if (training_store_spool(&tuser->set, user, events, count, &error) < 0)
		i_error("mxkit_training: %u training event(s) of %s lost: not recorded, "
			"not spooled: %s", count, user, error);
	return 0;
}

/* Write every queued transaction's events, then start the trainer once when
 * the database took events or the spool held some before (the trainer
 * replays the spool first). */
static void training_flush(struct training_user *tuser)
{
	struct training_transaction *const *tts;
	const struct training_event *events;
	unsigned int i, n, count, recorded = 0;
	bool had_spool, spool;
	const char *error;

	timeout_remove(&tuser->to_flush);
	tts = array_get(&tuser->queue, &n);
	if (n == 0)
		return;
	had_spool = tuser->set.spool_path != NULL && train_spool_pending(tuser->set.spool_path);
	spool = had_spool;
	for (i = 0; i < n; i++) {
		struct training_transaction *tt = tts[i];
		events = array_get(&tt->events, &count);
		T_BEGIN {
			recorded += training_write(tuser, events, count, &spool);
		} T_END;
		pool_unref(&tt->pool);
	}
	array_clear(&tuser->queue);
	if ((recorded > 0 || had_spool) && tuser->set.trainer[0] != '\0') T_BEGIN {
		if (training_spawn_trainer(&tuser->set, &error) < 0)
			i_error("mxkit_training: %s (events stay pending)", error);
	} T_END;
}

/* Queue a committed transaction's events (the transaction pool moves). */
static void training_queue(struct training_user *tuser, struct training_transaction *tt)
{
	array_push_back(&tuser->queue, &tt);
	if (current_ioloop == NULL)
		training_flush(tuser);
	else if (tuser->to_flush == NULL)
		tuser->to_flush = timeout_add_short(0, training_flush, tuser);
}

static void training_user_deinit(struct mail_user *user)
{
	struct training_user *tuser = TRAINING_USER_CONTEXT(user);

	training_flush(tuser);
	if (tuser->set.db != NULL)
		explicit_bzero(((struct mx_db_config *)tuser->set.db)->password,
			       sizeof(tuser->set.db->password));
	tuser->module_ctx.super.deinit(user);
}

static int training_transaction_commit(struct mailbox_transaction_context *t,
				       struct mail_transaction_commit_changes *changes_r)
{
	struct mailbox *box = t->box;
	struct training_mailbox *tbox = TRAINING_BOX_CONTEXT(box);
	struct training_transaction *tt = TRAINING_TRANS_CONTEXT(t);
	struct training_user *tuser = TRAINING_USER_CONTEXT(box->storage->user);
	int ret;

	ret = tbox->module_ctx.super.transaction_commit(t, changes_r);
	if (tt == NULL)
		return ret;
	if (ret == 0 && tuser != NULL && array_count(&tt->events) > 0)
		training_queue(tuser, tt);
	else
		pool_unref(&tt->pool);
	return ret;
}

static void training_transaction_rollback(struct mailbox_transaction_context *t)
{
	struct training_mailbox *tbox = TRAINING_BOX_CONTEXT(t->box);
	struct training_transaction *tt = TRAINING_TRANS_CONTEXT(t);

	tbox->module_ctx.super.transaction_rollback(t);
	if (tt != NULL)
		pool_unref(&tt->pool);
}

static void training_mailbox_allocated(struct mailbox *box)
{
	struct mailbox_vfuncs *v = box->vlast;
	struct training_mailbox *tbox;

	if (TRAINING_USER_CONTEXT(box->storage->user) == NULL)
		return;
	tbox = p_new(box->pool, struct training_mailbox, 1);
	tbox->module_ctx.super = *v;
	box->vlast = &tbox->module_ctx.super;
	v->copy = training_copy;
	v->save_finish = training_save_finish;
	v->transaction_begin = training_transaction_begin;
	v->transaction_commit = training_transaction_commit;
	v->transaction_rollback = training_transaction_rollback;
	MODULE_CONTEXT_SET(box, training_storage_module, tbox);
}

static const char *training_getenv(struct mail_user *user, const char *name, const char *def)
{
	const char *value = mail_user_plugin_getenv(user, name);

	return value != NULL ? value : def;
}

static void training_mail_user_created(struct mail_user *user)
{
	struct mail_user_vfuncs *v = user->vlast;
	struct training_user *tuser;
	const char *max, *error;
	uoff_t max_size = TRAINING_MESSAGE_MAX;

	tuser = p_new(user->pool, struct training_user, 1);
	tuser->module_ctx.super = *v;
	user->vlast = &tuser->module_ctx.super;
	v->deinit = training_user_deinit;
	tuser->user = user;
	p_array_init(&tuser->queue, user->pool, 4);
	tuser->set.config_path = training_getenv(user, "mxkit_training_config",
						 TRAINING_CONFIG_DEFAULT);
	tuser->set.junk = training_getenv(user, "mxkit_training_junk", "Junk");
	tuser->set.trash = training_getenv(user, "mxkit_training_trash", "Trash");
	tuser->set.trainer = training_getenv(user, "mxkit_training_trainer",
					     MXKIT_SBINDIR "/mxkit-train");
	max = mail_user_plugin_getenv(user, "mxkit_training_max_size");
	if (max != NULL && (str_to_uoff(max, &max_size) < 0 || max_size == 0 ||
			    max_size > TRAINING_MESSAGE_MAX)) {
		i_error("mxkit_training: mxkit_training_max_size=%s: not a size in 1..%u bytes, "
			"using %u", max, TRAINING_MESSAGE_MAX, TRAINING_MESSAGE_MAX);
		max_size = TRAINING_MESSAGE_MAX;
	}
	tuser->set.max_size = max_size;
	if (training_store_settings(&tuser->set, user->pool, user->username, &error) < 0)
		i_error("mxkit_training: %s: %s (events of %s cannot be recorded nor spooled)",
			tuser->set.config_path, error, user->username);
	MODULE_CONTEXT_SET(user, training_user_module, tuser);
	/* Events spooled while the database was down: replay them now. */
	if (tuser->set.spool_path != NULL && tuser->set.trainer[0] != '\0' &&
	    train_spool_pending(tuser->set.spool_path)) T_BEGIN {
		if (training_spawn_trainer(&tuser->set, &error) < 0)
			i_error("mxkit_training: %s (spooled events stay in %s)", error,
				tuser->set.spool_path);
	} T_END;
}

static struct mail_storage_hooks training_mail_storage_hooks = {
	.mail_user_created = training_mail_user_created,
	.mailbox_allocated = training_mailbox_allocated,
};

void mxkit_training_plugin_init(struct module *module)
{
	mail_storage_hooks_add(module, &training_mail_storage_hooks);
}

void mxkit_training_plugin_deinit(void)
{
	mail_storage_hooks_remove(&training_mail_storage_hooks);
	training_store_deinit();
}
