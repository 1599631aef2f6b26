/* mx_milter_proto.h: the milter wire protocol (version 6, as Postfix and
 * Sendmail speak it) as a pure parser and encoder over memory buffers.
 *
 * A packet is a 4-byte big-endian length (command byte included), one
 * command byte, then the data. Nothing here does I/O: the engine
 * (mx_milter_engine.c) reads bytes, splits packets with
 * mx_milter_packet_next(), decodes them with the parsers below and
 * builds its replies with the encoder. Every length from the wire is
 * checked before use; a packet longer than MX_MILTER_PACKET_MAX is
 * refused. */
#ifndef MX_MILTER_PROTO_H
#define MX_MILTER_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "mx_error.h"

/* Largest packet accepted (command byte and data): Postfix sends body
 * chunks of at most 64 KiB and a header field of at most its
 * header_size_limit (100 KiB by default). */
#define MX_MILTER_PACKET_MAX (1024 * 1024)
/* Largest reply packet we build (a header field we add or change). */
#define MX_MILTER_REPLY_MAX (256 * 1024)
/* Protocol version spoken. */
#define MX_MILTER_VERSION 6
/* Most strings (arguments, macro names and values) in one packet. */
#define MX_MILTER_STRINGS_MAX 128

/* Commands from the MTA. */
#define MX_MILTER_C_ABORT 'A'
#define MX_MILTER_C_BODY 'B'
#define MX_MILTER_C_CONNECT 'C'
#define MX_MILTER_C_MACRO 'D'
#define MX_MILTER_C_BODYEOB 'E'
#define MX_MILTER_C_HELO 'H'
#define MX_MILTER_C_QUIT_NC 'K'
#define MX_MILTER_C_HEADER 'L'
#define MX_MILTER_C_MAIL 'M'
#define MX_MILTER_C_EOH 'N'
#define MX_MILTER_C_OPTNEG 'O'
#define MX_MILTER_C_QUIT 'Q'
#define MX_MILTER_C_RCPT 'R'
#define MX_MILTER_C_DATA 'T'
#define MX_MILTER_C_UNKNOWN 'U'

/* Replies to the MTA. */
#define MX_MILTER_R_ADDRCPT '+'
#define MX_MILTER_R_DELRCPT '-'
#define MX_MILTER_R_ADDRCPT_PAR '2'
#define MX_MILTER_R_ACCEPT 'a'
#define MX_MILTER_R_CONTINUE 'c'
#define MX_MILTER_R_DISCARD 'd'
#define MX_MILTER_R_CHGFROM 'e'
#define MX_MILTER_R_ADDHEADER 'h'
#define MX_MILTER_R_INSHEADER 'i'
#define MX_MILTER_R_CHGHEADER 'm'
#define MX_MILTER_R_REJECT 'r'
#define MX_MILTER_R_SKIP 's'
#define MX_MILTER_R_TEMPFAIL 't'
#define MX_MILTER_R_REPLYCODE 'y'
#define MX_MILTER_R_OPTNEG 'O'

/* Actions the milter may take (negotiated). */
#define MX_MILTER_A_ADDHDRS 0x01u
#define MX_MILTER_A_CHGBODY 0x02u
#define MX_MILTER_A_ADDRCPT 0x04u
#define MX_MILTER_A_DELRCPT 0x08u
#define MX_MILTER_A_CHGHDRS 0x10u
#define MX_MILTER_A_QUARANTINE 0x20u
#define MX_MILTER_A_CHGFROM 0x40u
#define MX_MILTER_A_ADDRCPT_PAR 0x80u
#define MX_MILTER_A_SETSYMLIST 0x100u

/* Protocol steps: what the MTA leaves out or sends without a reply. */
#define MX_MILTER_P_NOCONNECT 0x01u
#define MX_MILTER_P_NOHELO 0x02u
#define MX_MILTER_P_NOMAIL 0x04u
#define MX_MILTER_P_NORCPT 0x08u
#define MX_MILTER_P_NOBODY 0x10u
#define MX_MILTER_P_NOHDRS 0x20u
#define MX_MILTER_P_NOEOH 0x40u
#define MX_MILTER_P_NR_HDR 0x80u
#define MX_MILTER_P_NOUNKNOWN 0x100u
#define MX_MILTER_P_NODATA 0x200u
#define MX_MILTER_P_SKIP 0x400u
#define MX_MILTER_P_RCPT_REJ 0x800u
#define MX_MILTER_P_NR_CONN 0x1000u
#define MX_MILTER_P_NR_HELO 0x2000u
#define MX_MILTER_P_NR_MAIL 0x4000u
#define MX_MILTER_P_NR_RCPT 0x8000u
#define MX_MILTER_P_NR_DATA 0x10000u
#define MX_MILTER_P_NR_UNKN 0x20000u
#define MX_MILTER_P_NR_EOH 0x40000u
#define MX_MILTER_P_NR_BODY 0x80000u
#define MX_MILTER_P_HDR_LEADSPC 0x100000u

/* Macro stages (for symbol lists and macro lookup). */
enum mx_milter_stage {
	MX_MILTER_M_CONNECT = 0,
	MX_MILTER_M_HELO = 1,
	MX_MILTER_M_ENVFROM = 2,
	MX_MILTER_M_ENVRCPT = 3,
	MX_MILTER_M_DATA = 4,
	MX_MILTER_M_EOM = 5,
	MX_MILTER_M_EOH = 6,
	MX_MILTER_M_COUNT = 7
};

/* The stage of a command's macros, or -1 for a command without any. */
int mx_milter_stage_of(char cmd);

struct mx_milter_packet {
	char cmd;
	uint8_t *data;   /* inside the caller's buffer */
	size_t len;      /* of data */
	size_t size;     /* bytes the whole packet takes in the buffer */
};

/* Split the first packet off buf[0..len). Returns 1 with *p filled, 0
 * when more bytes are needed (then *need, when not NULL, is the size of
 * the whole packet once its length is known, else 0), or -1 with err
 * when the length is 0 or above MX_MILTER_PACKET_MAX. */
int mx_milter_packet_next(uint8_t *buf, size_t len, struct mx_milter_packet *p,
			  size_t *need, struct mx_err *err);

/* SMFIC_OPTNEG: the MTA's version, actions and steps. */
struct mx_milter_optneg {
	uint32_t version, actions, steps;
};
int mx_milter_parse_optneg(const uint8_t *data, size_t len, struct mx_milter_optneg *o,
			   struct mx_err *err);

/* Data made of NUL-terminated strings (MAIL and RCPT arguments, HELO,
 * HEADER, UNKNOWN): points out[] into data. Every string must end with
 * a NUL inside data. Returns how many (at most max) or -1 with err. */
int mx_milter_parse_strings(uint8_t *data, size_t len, char **out, size_t max,
			    struct mx_err *err);

/* SMFIC_CONNECT: host name, family ('U' unknown, 'L' unix, '4', '6'),
 * and for the last three a port and an address. */
struct mx_milter_connect {
	const char *host;
	char family;
	uint16_t port;
	const char *addr;  /* NULL for 'U' */
};
int mx_milter_parse_connect(uint8_t *data, size_t len, struct mx_milter_connect *c,
			    struct mx_err *err);

/* SMFIC_MACRO: the command the macros belong to, then name/value pairs.
 * names[i] and values[i] point into data; *n is the count of pairs. */
int mx_milter_parse_macro(uint8_t *data, size_t len, char *cmd, char **names,
			  char **values, size_t max, size_t *n, struct mx_err *err);

/* A header (SMFIC_HEADER): exactly a name and a value. */
int mx_milter_parse_header(uint8_t *data, size_t len, char **name, char **value,
			   struct mx_err *err);

/* An output buffer of reply packets, written to the MTA in one go. */
struct mx_milter_out {
	uint8_t *data;
	size_t len, cap;
};
void mx_milter_out_init(struct mx_milter_out *o);
void mx_milter_out_free(struct mx_milter_out *o);
/* Append one packet: cmd, then each of the n parts (bytes, not strings).
 * Returns 0, or -1 with err when out of memory or over
 * MX_MILTER_REPLY_MAX. */
struct mx_milter_part {
	const void *p;
	size_t len;
};
int mx_milter_out_packet(struct mx_milter_out *o, char cmd, const struct mx_milter_part *parts,
			 size_t n, struct mx_err *err);
/* A packet of cmd with NUL-terminated strings (strs[i] may not be NULL),
 * after an optional 32-bit index when with_index. */
int mx_milter_out_strings(struct mx_milter_out *o, char cmd, int with_index, uint32_t index,
			  const char *const *strs, size_t n, struct mx_err *err);
/* The OPTNEG reply, with symbol lists (lists[stage] NULL: none). */
int mx_milter_out_optneg(struct mx_milter_out *o, const struct mx_milter_optneg *ng,
			 const char *const lists[MX_MILTER_M_COUNT], struct mx_err *err);

#endif
