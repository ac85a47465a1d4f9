"""The crisis screen's corpora: reading them and scoring the screen on them.

Every folder `tests/corpora/safety*/<lang>/` holds `crisis.txt` (messages that must be caught)
and `ordinary.txt` (messages that must not be), each line under a `# category` header naming
what it was written for (a header is one word; other comment lines are notes). The folders:

- `safety/`: the reviewed corpora, written beside the lexicon. Every crisis message must be
  caught as its category asks (past ideation with the gentle answer only, every other one with
  the crisis answer and a staff alert), and no ordinary message may be flagged.
- any other (`safety_dev/`, `safety_dev2/`, `safety_heldout/`, `safety_heldout2/`): written
  by people who never saw the lexicon. Recall per language at least :data:`MIN_RECALL`, and
  no ordinary message flagged. A past-ideation message counts as caught when anything matched
  (the gentle answer is expected); any other crisis message needs the crisis answer and an
  alert. A development folder that does not reach that yet (safety_dev5 on) is held to its
  figures in :data:`FLOORS` meanwhile; the target stays the same. So are the held-out folders
  (`safety_heldout/` since 2026-12-06, `safety_heldout2/` and `safety_heldout3/` since
  2026-12-07, a second and a third writer per language; kept in the repository so that they
  are measured on every run): their lines are never printed, and their floor is what the
  screen reached on them, not the target.

A held-out folder is measured, never read to tune: do not look at its misses.

    .venv/bin/python -m tests.safety_corpora                 # figures for every dev folder
    .venv/bin/python -m tests.safety_corpora safety_dev --misses   # and what a dev folder missed
    .venv/bin/python -m tests.safety_corpora safety_dev2 --half odd --misses  # tune on a half,
    .venv/bin/python -m tests.safety_corpora safety_dev2 --half even          # check the other
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.domain.safety import LEARNED, CrisisMatch

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT / "tests" / "corpora"
REVIEWED = "safety"
PAST = "past_ideation"
MIN_RECALL = 0.97
"""Recall each language must reach on a corpus written without sight of the lexicon."""
FLOORS: dict[str, dict[str, tuple[float, int]]] = {
    # Figures of 2026-12-06 (issue 16, round 5), lexicon and learned layer together. Recall
    # is at the target in each; these are the ordinary lines still flagged, by kind.
    "safety_dev5": {
        # Round 12's model (thirty more writers; its Spanish threshold lower: 0.976 against
        # 0.993) flags one more line in each, both the learned layer's: a question about
        # ketamine for suicidal thinking, an allergy with a swollen face many years ago.
        "en": (MIN_RECALL, 1),
        # Round 13's model (dev57-dev76 added; its Spanish threshold higher: 0.982) no longer
        # flags "no overdose myself; my niece had one in 2022".
        "es": (MIN_RECALL, 2),
    },
    "safety_dev7": {"en": (MIN_RECALL, 1)},  # "🪦" as a joke about being old
    "safety_dev8": {"en": (MIN_RECALL, 2)},  # "i wanted to die lol" after a party; a film plot
    # Written by a helper who never saw the lexicon (issue 16, round 6: real patient texting,
    # slang and typos), measured untouched before it was trained on: en 254/288 (88.2%), es
    # 240/288 (83.3%), 4 false alarms each, all the lexicon's. Now in the learned layer's
    # training and calibration; the misses are families the lexicon does not read (a child
    # who got into the medicine, burden said in other words, a plan without a verb of dying).
    # Both languages reach the target since round 11 (2026-12-07; English already did just
    # before it), so it left this table.
    # Written by a helper who never saw the lexicon, asked for the families the screen missed
    # and for traps (crisis in everyday words; 28% of the English ordinary lines reuse crisis
    # words). Measured untouched first, with the model trained without it: en 251/340 (73.8%),
    # 19 false alarms; es 298/373 (79.9%, after the Spanish round written from dev9), 17. The
    # lexicon's round 8 was then written from its misses; the learned layer does not read it
    # (scripts/train_safety_model.py NOT_TRAINED).
    "safety_dev10": {
        "en": (MIN_RECALL, 5),  # the learned layer's: "kill the lights", a brain that won't shut up
        # the learned layer's: pills for blood pressure, a splinter; round 12's model, its
        # Spanish threshold lower (0.976 against 0.993), five more of these traps (a whole
        # bottle of kombucha, a car's engine running to warm up, swollen feet on a plane);
        # round 13's (0.982), three fewer
        "es": (MIN_RECALL, 6),
    },
    # Written by six helpers who never saw the lexicon, the code or the other corpora, from
    # the taxonomies (issue 16, round 9; dev11: many Englishes and Spanishes, veiled wordings;
    # dev12: as a psychiatric nurse reads a clinic inbox; dev13: each warning sign in several
    # very different voices). Measured untouched first, with the screen of round 8: dev11 en
    # 230/286 (80.4%), 6 false alarms, es 246/287 (85.7%), 10; dev12 en 250/289 (86.5%), 7,
    # es 251/291 (86.3%), 4; dev13 en 246/300 (82.0%), 8, es 245/289 (84.8%), 1. Round 9's
    # lexicons were written from dev11 only (it now reaches the target and left this table);
    # with them, before any model read dev12 or dev13: dev12 en 87.5%, es 86.6%; dev13 en
    # 83.3%, es 85.5%. All three are now in the learned layer's training and calibration; these
    # floors are the figures after that.
    # Round 11 (2026-12-07: a screening question answered no, a question about someone's
    # history, recovery told with how long, a gift with its reason, chest pain examined)
    # brought the false alarms down: dev12 en 5 to 2, es 4 to 0; dev13 en 7 to 1, es 1 to 0.
    "safety_dev12": {"en": (MIN_RECALL, 1)},  # a cliff for a parking spot; thoughts no longer
    "safety_dev13": {"en": (MIN_RECALL, 1)},  # "going to kill my brother, he ate my leftovers"
    # Written by four helpers who never saw the lexicon, the code or the other corpora, from
    # the taxonomies (issue 16, round 10; dev14: a clinic inbox's adults and caregivers, voice
    # dictation, regional Englishes and Spanishes; dev15: indirect and figurative speech,
    # slang, faith, second-language writers, fragments). Measured untouched first, with the
    # screen of round 9: dev14 en 277/313 (88.5%), 16 false alarms, es 303/325 (93.2%), 16;
    # dev15 en 250/309 (80.9%), 12, es 262/325 (80.6%), 15. Round 10's lexicons were written
    # from dev15 only; with them, before any model read either: dev14 en 88.8%, 15, es 93.2%,
    # 15 (dev14 the clean check: one line more); dev15 en 95.8%, 2, es 95.7%, 9. Both are now
    # in the learned layer's training and calibration; these floors are the figures after that.
    # Round 11: dev14 en 10 to 3, es 12 to 2 (the rest: jokes and idioms, which it leaves).
    "safety_dev14": {"en": (MIN_RECALL, 2), "es": (MIN_RECALL, 2)},
    "safety_dev15": {"es": (MIN_RECALL, 3)},
    # Written by twenty-two helpers (eleven writers a language) who never saw the lexicon, the
    # code or the other corpora, from the taxonomies (issue 16, round 11), each in a register of
    # its own: dev16 plain adult patients; dev17 minimising, hedging and hinting, danger in one
    # clause of a long message, terse lines; dev18 polite older adults, therapy words, chronic
    # pain, veterans, carers; dev19 young adults' slang, and those who care for a patient; dev20
    # lives that shape words (new mothers, nurses, police, farmers; Indian and Nigerian English;
    # Central American Spanish); dev21 distress and haste (typos, dictation, Scots, Filipino and
    # Caribbean English, Spanglish); dev22 every warning sign in turn; dev23 short texts; dev24
    # long mixed messages; dev25 the day of an infusion and after; dev26 over-65s and people who
    # rarely write. Measured untouched first, with the screen of round 10 (dev23-dev26 with
    # round 11's rules against false alarms, written from dev8-dev14): en 2,847/3,414 (83.4%)
    # with 102 of 3,634 ordinary lines flagged, es 3,057/3,509 (87.1%) with 119 of 3,747. All
    # are now in the learned layer's training and calibration; these floors are the figures
    # after that (per folder before and after: the closing note of 2026-12-07).
    "safety_dev16": {"en": (MIN_RECALL, 2), "es": (MIN_RECALL, 1)},
    "safety_dev17": {"en": (MIN_RECALL, 5), "es": (MIN_RECALL, 8)},
    "safety_dev18": {"en": (MIN_RECALL, 5), "es": (MIN_RECALL, 2)},
    "safety_dev19": {"en": (MIN_RECALL, 3), "es": (MIN_RECALL, 6)},
    "safety_dev20": {"en": (MIN_RECALL, 3), "es": (MIN_RECALL, 2)},
    "safety_dev21": {"en": (MIN_RECALL, 1), "es": (MIN_RECALL, 1)},
    "safety_dev22": {"en": (MIN_RECALL, 12), "es": (MIN_RECALL, 9)},
    "safety_dev23": {"en": (MIN_RECALL, 2), "es": (MIN_RECALL, 5)},
    "safety_dev24": {"en": (MIN_RECALL, 8), "es": (MIN_RECALL, 11)},
    "safety_dev25": {"en": (MIN_RECALL, 4), "es": (MIN_RECALL, 5)},
    "safety_dev26": {"en": (MIN_RECALL, 5), "es": (MIN_RECALL, 2)},
    # Written by sixty helpers (thirty writers a language) who never saw the lexicon, the code
    # or the other corpora, from the taxonomies (issue 16, round 12), each in a register of its
    # own. dev27-dev46: PTSD; chronic pain; recovery from alcohol and drugs; faith; work email;
    # replies inside the bot's flow; non-native writers; gallows humour; internet and gaming
    # talk; bipolar disorder and psychosis; quoted and reported speech; money, work and legal
    # trouble; grief; rural and working-class voices; pharmacology-literate patients; late-night
    # messages; couples and family in conflict; autistic and ADHD adults; eating disorders and
    # perinatal life; Spanglish. Measured untouched with round 11's screen: en 5,403/6,135
    # (88.1%) with 251 of 6,636 ordinary lines flagged, es 5,548/6,200 (89.5%) with 320 of
    # 6,673. dev47-dev56, written while the model of dev1-dev46 was trained: helping jobs;
    # exhausted parents; LGBTQ+ adults; students; third parties writing for a patient; emoji;
    # stoic men; serious illness and end-of-life planning; nightlife and drugs; ketamine and
    # psychedelic experiences. Untouched: round 11's screen en 86.2% (114 of 3,323 flagged), es
    # 87.8% (140 of 3,319); the model of dev1-dev46, which never read them, en 91.1% (119), es
    # 91.2% (129). All are now in the learned layer's training and calibration; these floors
    # are the figures after that (most of the flagged lines are the lexicon's: 410 of the 487
    # false alarms of dev27-dev44 untouched).
    "safety_dev27": {"en": (MIN_RECALL, 1), "es": (MIN_RECALL, 3)},
    "safety_dev28": {"en": (MIN_RECALL, 6), "es": (MIN_RECALL, 4)},
    "safety_dev29": {"en": (MIN_RECALL, 7), "es": (MIN_RECALL, 5)},
    "safety_dev30": {"en": (MIN_RECALL, 5), "es": (MIN_RECALL, 5)},
    "safety_dev31": {"en": (MIN_RECALL, 3), "es": (MIN_RECALL, 5)},
    "safety_dev32": {"en": (MIN_RECALL, 3)},
    "safety_dev33": {"en": (MIN_RECALL, 4), "es": (MIN_RECALL, 5)},
    "safety_dev34": {"en": (MIN_RECALL, 5), "es": (MIN_RECALL, 7)},
    "safety_dev35": {"en": (MIN_RECALL, 6), "es": (MIN_RECALL, 1)},
    "safety_dev36": {"en": (MIN_RECALL, 1), "es": (MIN_RECALL, 3)},
    "safety_dev37": {"en": (MIN_RECALL, 17), "es": (MIN_RECALL, 4)},
    "safety_dev38": {"en": (MIN_RECALL, 6), "es": (MIN_RECALL, 7)},
    "safety_dev39": {"en": (MIN_RECALL, 6), "es": (MIN_RECALL, 3)},
    "safety_dev40": {"en": (MIN_RECALL, 4), "es": (MIN_RECALL, 8)},
    "safety_dev41": {"en": (MIN_RECALL, 1), "es": (MIN_RECALL, 10)},
    "safety_dev42": {"en": (MIN_RECALL, 5), "es": (MIN_RECALL, 9)},
    "safety_dev43": {"en": (MIN_RECALL, 5), "es": (MIN_RECALL, 10)},
    "safety_dev44": {"en": (MIN_RECALL, 6), "es": (MIN_RECALL, 6)},
    "safety_dev45": {"en": (MIN_RECALL, 1), "es": (MIN_RECALL, 10)},
    "safety_dev46": {"en": (MIN_RECALL, 12), "es": (MIN_RECALL, 7)},
    "safety_dev47": {"en": (MIN_RECALL, 4), "es": (MIN_RECALL, 6)},
    "safety_dev48": {"en": (MIN_RECALL, 8), "es": (MIN_RECALL, 4)},
    "safety_dev49": {"en": (MIN_RECALL, 6), "es": (MIN_RECALL, 8)},
    "safety_dev50": {"en": (MIN_RECALL, 3), "es": (MIN_RECALL, 8)},
    "safety_dev51": {"en": (MIN_RECALL, 2), "es": (MIN_RECALL, 5)},
    "safety_dev52": {"en": (MIN_RECALL, 6), "es": (MIN_RECALL, 9)},
    "safety_dev53": {"en": (MIN_RECALL, 3), "es": (MIN_RECALL, 9)},
    "safety_dev54": {"en": (MIN_RECALL, 9), "es": (MIN_RECALL, 7)},
    "safety_dev55": {"en": (MIN_RECALL, 6), "es": (MIN_RECALL, 6)},
    "safety_dev56": {"en": (MIN_RECALL, 4), "es": (MIN_RECALL, 5)},
    # Written by twenty-eight helpers who never saw the lexicon, the code or the other corpora
    # (issue 16, round 13; twenty English writers, as its held-out recall did not move in round
    # 12, and eight Spanish ones), each in a register of its own: dev57-dev76 en: British and
    # Irish; Australian and New Zealand; AAVE and the US South; older formal men; 2020s internet
    # speech; metaphors; anger; polite indirection; chronic pain with doses; carers; coercive
    # partners; blue-collar men; the hours after an infusion; long mixed messages; second-language
    # English; faith and quotations; first responders and soldiers; OCD and health anxiety;
    # shorthand; parents and teachers. dev57-dev64 es: Spain; the hours after an infusion; older
    # Colombians, Peruvians and Venezuelans; metaphors; anger; carers; Mexican and Argentine
    # youth; long mixed messages. Measured untouched with round 12's screen: en 5,771/6,211
    # (92.9%) with 190 of 6,624 ordinary lines flagged, es 2,338/2,455 (95.2%) with 99 of 2,643.
    # Round 13's lexicons were written from dev57-dev64 only; with them and round 12's model,
    # dev65-dev76 (the clean check) went from 92.4% to 92.7% with 114 to 112 false alarms. The
    # model of dev1-dev64, which never read dev65-dev76, caught 93.5% of them with 101. All are
    # now in the learned layer's training and calibration; these floors are the figures after.
    "safety_dev57": {"en": (MIN_RECALL, 8), "es": (MIN_RECALL, 9)},
    "safety_dev58": {"en": (MIN_RECALL, 3), "es": (MIN_RECALL, 8)},
    "safety_dev59": {"en": (MIN_RECALL, 7), "es": (MIN_RECALL, 5)},
    "safety_dev60": {"en": (MIN_RECALL, 4), "es": (MIN_RECALL, 3)},
    "safety_dev61": {"en": (MIN_RECALL, 6), "es": (MIN_RECALL, 7)},
    "safety_dev62": {"en": (MIN_RECALL, 1), "es": (MIN_RECALL, 4)},
    "safety_dev63": {"en": (MIN_RECALL, 5), "es": (MIN_RECALL, 11)},
    "safety_dev64": {"en": (MIN_RECALL, 6), "es": (MIN_RECALL, 15)},
    "safety_dev65": {"en": (MIN_RECALL, 5)},
    "safety_dev66": {"en": (MIN_RECALL, 6)},
    "safety_dev67": {"en": (MIN_RECALL, 3)},
    "safety_dev68": {"en": (MIN_RECALL, 3)},
    "safety_dev69": {"en": (MIN_RECALL, 5)},
    "safety_dev70": {"en": (MIN_RECALL, 3)},
    "safety_dev71": {"en": (MIN_RECALL, 4)},
    "safety_dev72": {"en": (MIN_RECALL, 4)},
    "safety_dev73": {"en": (MIN_RECALL, 9)},
    "safety_dev74": {"en": (MIN_RECALL, 7)},
    "safety_dev75": {"en": (MIN_RECALL, 6)},
    "safety_dev76": {"en": (MIN_RECALL, 6)},
    # Round 14 (2026-12-07): six more writers who never saw the lexicon, the code or the other
    # corpora, from the same brief: English veterans and their families (dev77), LGBTQ+ young
    # adults (dev78), rural patients over sixty (dev79), healthcare workers who are patients
    # (dev80); Spanish Caribbean and Miami patients (dev77), young parents and people in
    # recovery (dev78). Measured untouched with round 14's screen (round 13's model, and the
    # model's overrule of someone else in danger and burden): en 92.6% with 15 false alarms
    # of 1,332, es 94.7% with 18 of 666. The floors are those figures. Neither the learned
    # layer (scripts/train_safety_model.py NOT_TRAINED) nor any lexicon rule reads them: they
    # are the next round's clean check (a model trained with them flagged more of safety_dev10
    # and caught no more of it, so it was not shipped).
    "safety_dev77": {"en": (MIN_RECALL, 5), "es": (MIN_RECALL, 7)},
    "safety_dev78": {"en": (MIN_RECALL, 3), "es": (MIN_RECALL, 12)},
    "safety_dev79": {"en": (0.964, 5)},
    "safety_dev80": {"en": (0.916, 2)},
    # Round 17 (2026-12-08): four more writers who never saw the lexicon, the code or the other
    # corpora, from the same brief: English adults of 55 to 80 with chronic pain, full sentences
    # and dictation (dev81), veterans and first responders with PTSD, terse (dev82); Spanish
    # Mexican and Central American patients in the US, WhatsApp style (dev83), patients from
    # Spain, Argentina, Uruguay, Colombia, Chile and Peru (dev84). Measured untouched with round
    # 16's screen: dev81 en 270/273 (98.9%) with 5 of 342 flagged, dev82 en 256/273 (93.8%)
    # with 5 of 340, dev83 es 284/286 (99.3%) with 9 of 343, dev84 es 269/273 (98.5%) with 11
    # of 342. Neither the learned layer nor any lexicon rule reads them: round 17's clean check.
    # With round 17's screen (measured, never read): the same recall, 25 false alarms instead of
    # 30 (dev82 4, dev83 6, dev84 10; 7 of the 25 the learned layer's).
    "safety_dev81": {"en": (MIN_RECALL, 5)},
    "safety_dev82": {"en": (0.937, 4)},
    "safety_dev83": {"es": (MIN_RECALL, 6)},
    "safety_dev84": {"es": (MIN_RECALL, 10)},
    # The held-out set (written by two helpers from the taxonomies, never shown the lexicon,
    # never read to tune: its lines are not printed). Before issue 16: en 70/234 (29.9%) with
    # 14 false alarms, es 63/261 (24.1%) with 17; after its fourth round: en 212/234, 3 false
    # alarms, es 227/261, 6; after its sixth round (the learned layer: thresholds per
    # language out of fold, skip pairs, dev9): en 217/234 (92.7%), 3, es 234/261 (89.7%), 6.
    # After round 8 (concepts from dev9 and dev10 in both lexicons): en 219/234 (93.6%), 3, es
    # 238/261 (91.2%), 6. (Read twice in that round: first with dev10 also in the learned
    # layer's training, en 212/234 with 3, es 242/261 with 7; see NOT_TRAINED in
    # scripts/train_safety_model.py.) After round 9 (both lexicons from dev11; the learned
    # layer trained with dev11-dev13, its threshold at 0.75%), read once: en 219/234 (93.6%),
    # 3, es 244/261 (93.5%), 6. After round 10 (both lexicons from dev15; history no longer
    # covers what follows a word of the present; "its time" counts alone only; the learned
    # layer trained with dev14 and dev15), read once: en 218/234 (93.2%), 3, es 245/261
    # (93.9%), 5. English lost one line; which of the round's changes did it was not probed
    # (that would be tuning on this set), and the floor follows the figure. After round 11
    # (rules against false alarms from dev8-dev14; the learned layer trained with eleven more
    # writers, dev16-dev26), read twice: with the first model, en 225/234 (96.2%) with 5 false
    # alarms, es 250/261 (95.8%) with 4; that model flagged two reviewed lines of
    # test_safety.py, which went into the reviewed corpus with three like them, and the model
    # retrained on them (the one shipped): en 225/234 (96.2%) with 4, es 250/261 (95.8%) with
    # 6. Against round 10: 7 and 5 more crisis lines caught, one more ordinary line flagged in
    # each language; the floors follow both figures, the threshold never moved on this set.
    # After round 12 (thirty more writers a language, dev27-dev56, in the learned layer's training
    # and calibration, its writers left out in twelve folds; rules against false alarms from
    # dev27-dev36; an attempt told with a recent time alerts), read twice: with the model of
    # dev1-dev46 and round 11's lexicons, en 225/234 (96.2%) with 4 false alarms, es 257/261 (98.5%)
    # with 6; with the shipped model (dev1-dev56, chosen to ship before this read) and round 12's
    # lexicons, en 225/234 (96.2%) with 4, es 257/261 (98.5%) with 7. Spanish: 7 more crisis lines
    # caught, one more ordinary line flagged; English: the same lines. The floors follow the shipped
    # figures. Spanish recall is at the target; the false alarms and English recall are not: the
    # screen is not done. After round 13 (twenty English writers and eight Spanish ones,
    # dev57-dev76, in the learned layer's training and calibration; round 13's lexicons from
    # dev57-dev64; the model to ship chosen before this read and not changed after it), read
    # once: en 223/234 (95.3%) with 3 false alarms, es 254/261 (97.3%) with 6. Both languages
    # lost crisis lines (2 and 3) and one false alarm each; which of the round's changes did it
    # was not probed (that would be tuning on this set), and, as in round 10, the floors follow
    # the figures. On the development writers it had never read the same kind of model caught
    # more (see the block of dev57-dev76 above): this set and those disagree by a few lines.
    # Round 14 (the model overrules someone else in danger and burden below a logit of -10,
    # decided before this read), read once: en 223/234 with 2 false alarms (one fewer), es
    # 254/261 with 6: the same crisis lines.
    # Round 16 (2026-12-07): the learned layer's thresholds at 1.25% of the out-of-fold
    # ordinary lines instead of 0.75% (scripts/train_safety_model.py ALLOWED), decided on
    # dev77-dev80 and dev10, then each held-out set read once: recall at the target in every
    # set for 7 more false alarms in all (of 2,121 ordinary lines). The false-alarm floors
    # rose with it, the one time they may: a moved operating point, not a worse screen.
    # Read once: en 227/234 (97.0%) with 3, es 258/261 (98.9%) with 7.
    # Round 17 (2026-12-08: denials of one's own verb, causes of false alarms from the
    # development writers, the learned layer's overrule of every alerting category but
    # hopelessness below -12; all decided on the development writers and measured on dev81-dev84
    # first), read once: en 227/234 with 3 (1 of them the learned layer's), es 258/261 with 6 (3).
    "safety_heldout": {"en": (MIN_RECALL, 3), "es": (MIN_RECALL, 6)},
    # A second held-out writer per language (2026-12-07, issue 16 round 14), so that a round's
    # gain or loss of a line or two on one writer can be told from noise. Written from the
    # taxonomies alone (988/AFSP warning signs, C-SSRS, medical emergency signs) by helpers that
    # read no file here: a broad mix of US adult patients in English; Mexican, Caribbean,
    # Central and South American and Spanish patients in Spanish. Read once, with round 13's
    # screen, before anything of round 14: en 255/265 (96.2%) with 4 of 358 ordinary lines
    # flagged, es 254/260 (97.7%) with 5 of 357 (one crisis line answered in English only).
    # Round 14's screen, read once: the same figures. Round 16's, read once: en 259/265 (97.7%)
    # with 4, es 256/260 (98.5%) with 6. Round 17's, read once: en 259/265 with 3 (1 the learned
    # layer's), es 256/260 with 6 (3).
    "safety_heldout2": {"en": (MIN_RECALL, 3), "es": (MIN_RECALL, 6)},
    # A third writer per language (issue 16, round 15, 2026-12-07), read twice: round 14's
    # screen, then round 15's, the same figures (en 264/273, 96.7%, with 5; es 266/273, 97.4%,
    # with 6). Round 16's, read once: en 268/273 (98.2%) with 7, es 269/273 (98.5%) with 8.
    # Round 17's, read once: en 268/273 with 7 (2 the learned layer's), es 269/273 with 7 (2).
    "safety_heldout3": {"en": (MIN_RECALL, 7), "es": (MIN_RECALL, 7)},
}
"""Development folders (and languages) that do not reach the target yet: the recall and the
false alarms reached, ``{folder: {lang: (min_recall, max_false_alarms)}}``. The test holds
these floors and says the target is still :data:`MIN_RECALL` and no false alarm. A floor may
only be raised (a change that lowers a figure must fix the screen, not the floor); a folder
that reaches the target leaves this table. Never for the reviewed folder or for safety_dev to
safety_dev4, which hold the target itself."""
TARGET_ONLY = frozenset({REVIEWED, "safety_dev", "safety_dev2", "safety_dev3", "safety_dev4"})
"""Folders that must reach the target: no floor may stand in for it."""


def floor(folder: str, lang: str) -> tuple[float, int]:
    """The recall and the most false alarms ``folder`` in ``lang`` must hold: the target, or
    its floor in :data:`FLOORS` (target-only folders never have one). The held-out folder has
    one while the screen is below the target on it: without it the set could not be kept in
    the repository and measured on every run."""
    if folder in TARGET_ONLY:
        return MIN_RECALL, 0
    return FLOORS.get(folder, {}).get(lang, (MIN_RECALL, 0))


@dataclass(frozen=True)
class Line:
    category: str
    text: str


def held_out(folder: str) -> bool:
    """A corpus kept by the lead and measured on the branch: never read to tune."""
    return "heldout" in folder


def folders() -> list[str]:
    """Every corpus folder, the reviewed one first."""
    found = sorted(p.name for p in CORPORA.glob("safety*") if p.is_dir())
    return sorted(found, key=lambda name: name != REVIEWED)


def languages(folder: str) -> list[str]:
    return sorted(p.name for p in (CORPORA / folder).iterdir() if p.is_dir())


def read(folder: str, lang: str, kind: str) -> list[Line]:
    """The message lines of one file; a message before any header is an error."""
    path = CORPORA / folder / lang / f"{kind}.txt"
    category = ""
    lines: list[Line] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            header = line.lstrip("#").strip()
            if header and " " not in header:
                category = header
            continue
        if not category:
            raise ValueError(f"{folder}/{lang}/{kind}.txt: {line!r} is under no category header")
        lines.append(Line(category, line))
    return lines


def caught(folder: str, category: str, match: CrisisMatch | None) -> bool:
    """Whether ``match`` is the right answer to a crisis line of ``category``."""
    if match is None:
        return False
    if category == PAST:
        return folder != REVIEWED or not match.alert_staff
    return match.alert_staff


@dataclass
class Score:
    """One folder and language: per category (hits, total), and the lines that went wrong."""

    folder: str
    lang: str
    recall: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    alarms: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    missed: list[str] = field(default_factory=list)
    flagged: list[str] = field(default_factory=list)
    wrong_language: list[str] = field(default_factory=list)
    learned_alarms: int = 0  # the false alarms the learned layer raised (the rest: the lexicon's)

    @property
    def hits(self) -> int:
        return sum(h for h, _ in self.recall.values())

    @property
    def total(self) -> int:
        return sum(t for _, t in self.recall.values())

    @property
    def false_alarms(self) -> int:
        return sum(h for h, _ in self.alarms.values())

    @property
    def ordinary(self) -> int:
        return sum(t for _, t in self.alarms.values())

    def report(self) -> Iterator[str]:
        yield (
            f"[{self.folder}/{self.lang}] recall {self.hits}/{self.total} = "
            f"{100 * self.hits / max(self.total, 1):.1f}%, false alarms "
            f"{self.false_alarms}/{self.ordinary} ({self.learned_alarms} by the learned layer), "
            "answered in another language "
            f"{len(self.wrong_language)}"
        )
        for category, (hit, total) in sorted(self.recall.items()):
            yield f"  {category:<22} {hit:>3}/{total:<3} {100 * hit / total:5.1f}%"
        for group, (hit, total) in sorted(self.alarms.items()):
            yield f"  ordinary {group:<22} {hit:>3}/{total:<3} flagged"


def _half(lines: list[Line], half: str | None) -> list[Line]:
    """Every other line (``odd`` or ``even``, counted from 1), or all of them."""
    if half is None:
        return lines
    return lines[(0 if half == "odd" else 1) :: 2]


def score(
    check: Callable[[str], CrisisMatch | None],
    folder: str,
    lang: str,
    half: str | None = None,
    explain: Callable[[str], str | None] | None = None,
) -> Score:
    result = Score(folder, lang)
    for line in _half(read(folder, lang, "crisis"), half):
        match = check(line.text)
        right = caught(folder, line.category, match)
        result.recall[line.category][0] += right
        result.recall[line.category][1] += 1
        if not right:
            how = "missed" if match is None else f"{match.category}, alert={match.alert_staff}"
            result.missed.append(f"  {line.category}: {line.text!r} ({how})")
        elif match is not None and lang not in match.languages:
            result.wrong_language.append(f"  {line.text!r} ({', '.join(match.languages)})")
    for line in _half(read(folder, lang, "ordinary"), half):
        match = check(line.text)
        result.alarms[line.category][0] += match is not None
        result.alarms[line.category][1] += 1
        if match is not None and match.category == LEARNED:
            result.learned_alarms += 1
        if match is not None:
            why = explain(line.text) if explain is not None else match.category
            result.flagged.append(f"  {line.category}: {line.text!r} ({why})")
    return result


def main(argv: Sequence[str] | None = None) -> None:
    from bot.content.store import Content

    parser = argparse.ArgumentParser(description="The crisis screen's figures on its corpora.")
    parser.add_argument("folders", nargs="*", help="corpus folders (default: all)")
    parser.add_argument(
        "--misses",
        action="store_true",
        help="also list misses and false alarms (never on held-out)",
    )
    parser.add_argument(
        "--half",
        choices=("odd", "even"),
        help="score every other line only: tune on one half of a dev corpus, check the other",
    )
    parser.add_argument("--lexicon-only", action="store_true", help="without the learned layer")
    args = parser.parse_args(argv)
    content = Content(ROOT / "messages")
    detector = (
        content.crisis_detector_without_model if args.lexicon_only else content.crisis_detector
    )
    check = detector.check
    # The held-out folder only when named: its figures are measured on purpose, not by the way.
    for folder in args.folders or [f for f in folders() if not held_out(f)]:
        for lang in languages(folder):
            result = score(check, folder, lang, args.half, detector.explain)
            print("\n".join(result.report()))
            if args.misses:
                if held_out(folder):
                    sys.exit("a held-out corpus is measured, never read: no --misses for it")
                for title, lines in (
                    ("missed", result.missed),
                    ("flagged", result.flagged),
                    ("answered in another language", result.wrong_language),
                ):
                    if lines:
                        print(f" {title}:")
                        print("\n".join(lines))


if __name__ == "__main__":
    main()
