/*
 * G3 idempotency.
 *
 * Guarantee (docs/design.md §2): a commit may carry an opId. Retrying the same opId with the same payload returns the first
 * result (replayed: true) and applies nothing twice, also across a timeout, a crash or a reconnect. The same opId with
 * a different payload is IDEMPOTENCY_MISMATCH.
 *
 * Bounds: NC = 3 clients, NH = 2 server handlers taking requests concurrently, one key, a request queue of REQQ = 3
 * and a response queue of RESPQ = 1 per client (a full queue drops the answer). Client 0 sends opId 1 with payload 1,
 * at most ATTEMPTS = 3 times (1 + 2 retries); client 1 sends opId 2 with payload 2, at most ATTEMPTS1 = 2 times;
 * client 2 sends opId 1 with payload 4, at most ATTEMPTS2 = 2 times (an opId reused for a different request: it must
 * be IDEMPOTENCY_MISMATCH, whichever of the two arrives first). Raise them with -DATTEMPTS1=3 -DATTEMPTS2=3 -DRESPQ=2
 * (5.8 M states, ~9 s).
 *
 * Modelled actions and the code that implements them:
 *   send / retry   StateStore.commitRetryingUnavailable() (src/core/store.ts): the same opId on every attempt
 *   handle         commit() -> commitTxn() (src/core/commit.ts): in ONE backend transaction, look the opId up
 *                  (tx.getIdempotency), then either replay the stored first result, answer IDEMPOTENCY_MISMATCH (hash
 *                  differs) or apply the write and record the opId with its result (tx.putIdempotency)
 *   lost ack       the handler's answer is dropped after the write committed (timeout, connection reset)
 *   server crash   the handler dies before its transaction commits: rolled back, no answer
 *   timeout        the client stops waiting at any moment, even while an answer is on its way, and retries
 *   crash/reconnect the client drops its connection (answers queued for it are discarded) and retries on a new one;
 *                  what it keeps across the crash is its opId and payload (persisted before the first send)
 * Every answer a client receives, even a late one for an earlier attempt, is checked.
 *
 * Mutants:
 *   MUTANT_NO_OPID_RECORD      the opId is never recorded: a retry after a lost ack applies again.
 *   MUTANT_RECORD_AFTER_WRITE  the opId is recorded in a second transaction after the write: a retry handled
 *                              concurrently between the two finds no record and applies again.
 *   MUTANT_REPLAY_CURRENT      a replay answers with the key's current version instead of the stored first result.
 *   MUTANT_NO_PAYLOAD_COMPARE  the payload hash is not compared: a reused opId with another payload is "replayed".
 * Witness: WITNESS_REPLAY — some client receives replayed: true (an ack was lost or slow and the retry was answered
 * from the record).
 */

#define NC       3
#define NH       2
#ifndef ATTEMPTS
#define ATTEMPTS 3
#endif
#ifndef ATTEMPTS1
#define ATTEMPTS1 2
#endif
#ifndef ATTEMPTS2
#define ATTEMPTS2 2
#endif
#define NOPS     3      /* opIds 1 .. NOPS-1; 0 = none */
#ifndef REQQ
#define REQQ 3
#endif
#ifndef RESPQ
#define RESPQ 1
#endif

#define OK       1      /* committed, replayed: false */
#define REPLAYED 2      /* committed earlier, replayed: true */
#define MISMATCH 3      /* IDEMPOTENCY_MISMATCH */

/* Requests: client, opId, payload. Answers: code, version. */
chan req = [REQQ] of { byte, byte, byte };
chan resp[NC] = [RESPQ] of { byte, byte };

/* The store: one key, and the idempotency table. */
byte val;
byte ver;
byte recPayload[NOPS];  /* the opId's payload (its hash), 0 = no record                                    */
byte recVer[NOPS];      /* the opId's first result                                                         */

/* Ghost state. */
byte applied[NOPS];     /* how often each opId's write was applied                                         */
byte firstPayload[NOPS];/* the payload applied the first time                                              */
byte firstVer[NOPS];    /* the version that first application produced                                     */

inline apply(op, p)
{
	val = val + p;
	ver++;
	applied[op]++;
	/* INVARIANT at most once: no opId is ever applied twice. */
	assert(applied[op] == 1);
	firstPayload[op] = p;
	firstVer[op] = ver
}

inline record(op, p)
{
	recPayload[op] = p;
	recVer[op] = ver
}

#if defined(MUTANT_NO_PAYLOAD_COMPARE)
#define SAME_PAYLOAD(op, p)  true                 /* BUG: the payload hash is not compared */
#else
#define SAME_PAYLOAD(op, p)  (recPayload[op] == p)
#endif

/* commitTxn(): the idempotency lookup, then a replay, a mismatch, or the write and the record. One transaction. */
inline handle(op, p, code, v)
{
	if
	:: recPayload[op] != 0 && !SAME_PAYLOAD(op, p) -> code = MISMATCH
	:: recPayload[op] != 0 && SAME_PAYLOAD(op, p) ->
		code = REPLAYED;
#if defined(MUTANT_REPLAY_CURRENT)
		v = ver                                    /* BUG: the current version, not the stored first result */
#else
		v = recVer[op]
#endif
	:: recPayload[op] == 0 ->
		apply(op, p);
		code = OK;
		v = ver;
#if defined(MUTANT_NO_OPID_RECORD) || defined(MUTANT_RECORD_AFTER_WRITE)
		skip                                       /* BUG: not recorded in this transaction */
#else
		record(op, p)
#endif
	fi
}

/* Answers may be lost; a full queue also drops the answer (the client stopped listening). */
inline answer(c, code, v)
{
	if
	:: nfull(resp[c]) -> resp[c]!code, v
	:: true                                        /* ack lost after the write: timeout, connection reset */
	fi
}

proctype handler()
{
	byte c, op, p, code, v;

end:	do
	:: atomic {
		req?c, op, p;
		if
		:: true                                    /* server crash before commit: rolled back, no answer */
		:: handle(op, p, code, v)
		fi;
#if defined(MUTANT_RECORD_AFTER_WRITE)
	   };
	   atomic {                                    /* BUG: the record is a second transaction, after the write */
		if
		:: code == OK -> record(op, p)
		:: else
		fi;
#endif
		if
		:: code != 0 -> answer(c, code, v)
		:: else
		fi;
		c = 0; op = 0; p = 0; code = 0; v = 0
	   }
	od
}

proctype client(byte c; byte op; byte p; byte attempts)
{
	byte tries, code, v;

	do
	:: atomic { tries == attempts -> break }       /* gives up: the caller sees UNAVAILABLE (outcome unknown) */
	:: atomic { tries < attempts -> req!c, op, p; tries++ };
		if
		:: resp[c]?code, v ->
			atomic {
				/* INVARIANT: every answer is about the first application of this opId, late ones too. */
				assert(applied[op] == 1);
				if
				:: code == OK || code == REPLAYED ->
					/* INVARIANT replay returns the first result, and only for the payload that was applied. */
					assert(firstPayload[op] == p && v == firstVer[op])
#ifdef WITNESS_REPLAY
					; assert(code != REPLAYED)
#endif
				:: code == MISMATCH ->
					/* INVARIANT same opId, different payload -> IDEMPOTENCY_MISMATCH, and only then. */
					assert(firstPayload[op] != p)
				fi;
				goto finished
			}
		:: true                                    /* timeout: stop waiting, retry with the same opId */
		:: atomic {                                /* crash/reconnect: answers queued for the old connection */
			do                                     /* are lost; later ones still arrive and are checked   */
			:: resp[c]?_, _
			:: empty(resp[c]) -> break
			od
		   }
		fi
	od;
finished:
	atomic { tries = 0; code = 0; v = 0 }
}

init {
	atomic {
		run handler();
		run handler();
		run client(0, 1, 1, ATTEMPTS);
		run client(1, 2, 2, ATTEMPTS1);
		run client(2, 1, 4, ATTEMPTS2)   /* opId 1 again, another payload */
	}
}
