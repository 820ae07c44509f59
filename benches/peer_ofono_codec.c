/*
 * Peer harness for issue 13 item 2: oFono's own sms_decode + sms_decode_text /
 * sms_decode_datagram (src/smsutil.c) over the PDUs of a hex file, one PDU a line.
 * Built and run by benches/peer_ofono_codec.sh against the oFono sources it fetches.
 * Usage: peer_ofono_codec FILE ROUNDS REPEATS   (prints the best ns per PDU)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <glib.h>

#include "smsutil.h"

#define MAX_PDUS 64

static unsigned char pdus[MAX_PDUS][176];
static int lens[MAX_PDUS];
static int npdus;

static int unhex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static void load(const char *path)
{
	char line[1024];
	FILE *f = fopen(path, "r");

	if (!f) {
		perror(path);
		exit(2);
	}
	while (npdus < MAX_PDUS && fgets(line, sizeof(line), f)) {
		int n = 0;
		for (char *p = line; unhex(p[0]) >= 0 && unhex(p[1]) >= 0 && n < 176; p += 2)
			pdus[npdus][n++] = unhex(p[0]) << 4 | unhex(p[1]);
		if (n) {
			lens[npdus++] = n;
		}
	}
	fclose(f);
}

/* Decode one PDU as oFono's sms.c does for an incoming SMS: sms_decode, then the text, or the
 * datagram of an 8-bit message. Returns the length of what was decoded, -1 on failure. */
static long decode_one(const unsigned char *pdu, int len)
{
	struct sms sms;
	enum sms_charset charset;
	GSList l = { &sms, NULL };
	long out = 0;

	if (!sms_decode(pdu, len, FALSE, len - pdu[0] - 1, &sms))
		return -1;
	if (sms.type != SMS_TYPE_DELIVER)
		return 0;
	if (!sms_dcs_decode(sms.deliver.dcs, NULL, &charset, NULL, NULL))
		return -1;
	if (charset == SMS_CHARSET_8BIT) {
		unsigned char *d = sms_decode_datagram(&l, &out);
		if (!d)
			return -1;
		g_free(d);
	} else {
		char *t = sms_decode_text(&l);
		if (!t)
			return -1;
		out = strlen(t);
		g_free(t);
	}
	return out;
}

int main(int argc, char **argv)
{
	long rounds, repeats, sink = 0;
	double best = 1e30;

	if (argc != 4) {
		fprintf(stderr, "usage: %s FILE ROUNDS REPEATS\n", argv[0]);
		return 2;
	}
	load(argv[1]);
	rounds = atol(argv[2]);
	repeats = atol(argv[3]);
	for (int i = 0; i < npdus; i++) {
		if (decode_one(pdus[i], lens[i]) < 0) {
			fprintf(stderr, "oFono failed to decode PDU %d\n", i + 1);
			return 1;
		}
	}
	for (long r = 0; r < repeats; r++) {
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		for (long k = 0; k < rounds; k++)
			for (int i = 0; i < npdus; i++)
				sink += decode_one(pdus[i], lens[i]);
		clock_gettime(CLOCK_MONOTONIC, &b);
		double ns = ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / (rounds * npdus);
		if (ns < best)
			best = ns;
	}
	printf("%.1f %d %ld\n", best, npdus, sink);
	return 0;
}
