/*
 * G2 fencing.
 *
 * Guarantee (SPEC §2): claiming (or reclaiming) a key bumps its epoch. A commit made under an older epoch is rejected
 * with FENCED, even when the version has not moved. While a claim is active, a commit that presents no epoch is also
 * rejected: there is no bypass.
 *
 * Bounds: NK = 2 keys; 4 writers:
 *   - three claimers, each making one round: pick a key, claim it (nondeterministically with steal: true), then
 *     NCOMMIT = 1 commit attempt (read -> optional renew -> commit(expectVersion, epoch)), then release or walk away.
 *     Claimers 1 and 2 share one owner name (a restarted worker and its stalled predecessor: the classic zombie);
 *     claimer 3 has another owner;
 *   - one plain writer that never claims: NPLAIN = 1 commit presenting no epoch, on a key it picks;
 *   plus the environment: time is abstract, so "the lease ran out" is a nondeterministic EXPIRE step that may hit any
 *   live claim at any moment (the lease is a bit: live or expired). A renewed lease can therefore still expire at any
 *   later moment (its holder can stall past any TTL); renew is modelled by its check and by what it writes.
 * A writer that gets FENCED stops (FENCED is never retried). Bounds can be raised with -DNK=, -DNCOMMIT=, -DNPLAIN=:
 * NCOMMIT = 2 (a second commit after a conflict or after an earlier success) gives 18.6 M states in ~30 s.
 *
 * Modelled actions and the code that implements them (src/core/claims.ts, src/core/commit.ts):
 *   claim(k, owner, steal)   claim()    CLAIM_HELD while another owner's claim is live, unless steal; every
 *                                       grant (first claim, reclaim, claim after expiry) bumps the epoch
 *   renew(k, owner, epoch)   renew()    extends the claim iff it is still the live current claim of this owner
 *   release(k, owner, epoch) release()  drops the owner; the epoch stays (it only grows)
 *   expire(k)                the clock  (expiresAt <= now)
 *   commit(k, v, epoch?)     commit()   fenceReason() then the version check, in one transaction
 * As in fenceReason(): a presented epoch must equal the key's epoch AND that claim must be live (not expired, not
 * released); no epoch is allowed only while no claim is live.
 *
 * Mutants:
 *   MUTANT_NO_EPOCH_CHECK      commit() compares no epoch; any commit during a live claim passes (zombie lands).
 *   MUTANT_NO_EPOCH_BYPASS     a commit presenting no epoch is let through while a claim is live.
 *   MUTANT_EPOCH_FROM_VERSION  the fencing token is derived from the version (epoch = version + 1) instead of being
 *                              bumped: a reclaim while the version did not move hands out the same token again.
 *   MUTANT_RENEW_UNFENCED      renew() checks only the owner name and rewrites the claim row with the presented epoch
 *                              (as renew() does after its check): a same-owner zombie renews the old epoch back.
 * Witness: WITNESS_ZOMBIE_UNMOVED — a holder whose claim was superseded is FENCED although the version it read is
 * still the key's version (only the epoch saved the write).
 */

#ifndef NK
#define NK      2
#endif
#ifndef NCOMMIT
#define NCOMMIT 1     /* commit attempts per claim */
#endif
#ifndef NPLAIN
#define NPLAIN  1     /* commits of the writer that presents no epoch */
#endif
#define NONE    0     /* no epoch presented / no owner */

#define OK       1
#define CONFLICT 2
#define FENCED   3
#define HELD     4    /* CLAIM_HELD */

/* The store, per key. */
byte ver[NK];
byte epoch[NK];       /* 0 = never claimed */
byte owner[NK];       /* NONE = released / never claimed; otherwise an owner name */
bit  expired[NK];     /* the current claim's lease ran out */

#define live(k) (owner[k] != NONE && !expired[k])

/* Ghost state. */
byte gen[NK];         /* claims granted on k so far: the identity of the current claim, independent of epoch[] */

/* INVARIANT epoch only grows: every write of epoch[k] goes through here. */
inline set_epoch(k, e)
{
	assert(e >= epoch[k]);
	epoch[k] = e
}

inline claim(k, own, steal, e, g, res)
{
	atomic {
		if
		:: live(k) && owner[k] != own && !steal -> res = HELD
		:: else ->
#if defined(MUTANT_EPOCH_FROM_VERSION)
			set_epoch(k, ver[k] + 1);              /* BUG: token = version, not a counter */
#else
			set_epoch(k, epoch[k] + 1);            /* every grant bumps the epoch */
#endif
			owner[k] = own;
			expired[k] = 0;
			gen[k]++;
			e = epoch[k];
			g = gen[k];
			res = OK
		fi
	}
}

inline renew(k, own, e, res)
{
	atomic {
		if
#if defined(MUTANT_RENEW_UNFENCED)
		:: owner[k] == own ->                      /* BUG: owner name only; the old epoch is written back */
			set_epoch(k, e);
#else
		:: e == epoch[k] && live(k) && owner[k] == own ->
#endif
			expired[k] = 0;
			res = OK
		:: else -> res = FENCED
		fi
	}
}

inline release(k, own, e)
{
	atomic {
		if
		:: e == epoch[k] && owner[k] == own -> owner[k] = NONE
		:: else                                        /* not the current claim: returns false, changes nothing */
		fi
	}
}

/*
 * commit(k, expect, e): e = NONE for a writer that presents no epoch; g is the ghost identity of the claim it holds.
 */
inline commit(k, expect, e, g, res)
{
	atomic {
		if
#if !defined(MUTANT_NO_EPOCH_BYPASS)
		:: e == NONE && live(k) -> res = FENCED                       /* no bypass while a claim is live */
#endif
#if !defined(MUTANT_NO_EPOCH_CHECK)
		:: e != NONE && (e != epoch[k] || !live(k)) -> res = FENCED  /* superseded, released or expired */
#else
		:: e != NONE && !live(k) -> res = FENCED                      /* BUG: liveness only, any epoch */
#endif
		:: else ->
			if
			:: ver[k] != expect -> res = CONFLICT
			:: else ->
				ver[k]++;
				res = OK;
				/* INVARIANT fencing: a commit under a claim lands only if no later claim was granted on the key
				 * (no commit under a superseded epoch is applied after the reclaim, whatever the version). */
				assert(e == NONE || g == gen[k]);
				/* INVARIANT lease: a commit under a claim lands only while that claim is live. */
				assert(e == NONE || live(k));
				/* INVARIANT no bypass: a commit presenting no epoch lands only while no claim is live. */
				assert(e != NONE || !live(k))
			fi
		fi;
		/* INVARIANT no false fence: FENCED only for a claim that is superseded, expired or released, or for a commit
		 * without epoch while a claim is live (the guard above, restated from the ghost identity of the claim). */
		assert(res != FENCED || (e == NONE && live(k)) || (e != NONE && (g != gen[k] || !live(k))));
#ifdef WITNESS_ZOMBIE_UNMOVED
		assert(!(res == FENCED && e != NONE && g != gen[k] && ver[k] == expect));
#endif
		skip
	}
}

proctype claimer(byte own)
{
	byte k, e, g, v, res, n;
	bit steal;

	/* Picking the key and whether to steal are local choices, folded into the claim's atomic step. */
	atomic {
		select(k : 0 .. NK - 1);
		if
		:: steal = 0
		:: steal = 1                               /* steal: true (reclaim) */
		fi;
		claim(k, own, steal, e, g, res);
		steal = 0;
		if
		:: res == OK -> res = 0
		:: else -> goto out                        /* CLAIM_HELD */
		fi
	};
	do
	:: atomic { n == NCOMMIT -> goto leave }
	:: atomic { n < NCOMMIT -> v = ver[k] };      /* read (then the writer works, maybe for too long) */
		if
		:: atomic { renew(k, own, e, res); if :: res == FENCED -> goto out :: else -> res = 0 fi }
		:: skip
		fi;
		atomic {
			commit(k, v, e, g, res);
			v = 0;
			if
			:: res == FENCED -> goto out          /* lost the key: FENCED is never retried */
			:: else -> res = 0; n++                /* OK, or VERSION_CONFLICT: re-read next time */
			fi
		}
	od;
leave:
	if
	:: release(k, own, e)
	:: skip                                        /* walks away; the lease will expire */
	fi;
out:
	atomic { k = 0; e = 0; g = 0; v = 0; res = 0; n = 0 }
}

proctype plain()
{
	byte k, v, res, n;

	do
	:: atomic { n == NPLAIN -> break }
	:: atomic {
		n < NPLAIN;
		select(k : 0 .. NK - 1);
		v = ver[k]                                 /* read */
	   };
	   atomic { commit(k, v, NONE, 0, res); k = 0; v = 0; res = 0; n++ }
	od
}

/* The clock: any live lease may run out at any moment. */
active proctype clock()
{
end:	do
	:: atomic { live(0) -> expired[0] = 1 }
#if NK > 1
	:: atomic { live(1) -> expired[1] = 1 }
#endif
	od
}

init {
	atomic {
		run claimer(1);
		run claimer(1);   /* same owner name: a restarted worker next to its stalled predecessor */
		run claimer(2);
		run plain()
	}
}
