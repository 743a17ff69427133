"""A labelled set for the sensitive-content pre-screen (sottovoce/review/prescreen.py).

Written by hand for this project (no one's real words): what a voice assistant's microphone might
pick up, lower-case like a recognizer's output, with no punctuation. Labels: "danger" (someone may
be in danger), "distressing" (self-harm, death, abuse, grief), "intimate" (sexual or private
health), "" (nothing sensitive). The negatives are hard on purpose: household commands and
idioms that share words with the positives ("kill the lights", "i'm dying to see it").

Two parts. ``DEV`` was used while writing the lexicon; ``TEST`` was written in the same sitting but
the lexicon was not changed after its figures were first seen. Both were written by the
lexicon's author, so the figures are optimistic; SLURP's test sentences (independent, real
commands) give the false-flag rate on ordinary traffic.
"""

from __future__ import annotations


def _parse(block: str) -> list[tuple[str, str]]:
    rows = []
    for line in block.strip().splitlines():
        label, _, text = line.partition("|")
        rows.append((text.strip(), label.strip()))
    return rows


DEV = _parse("""
danger|call the police he's hitting her
danger|somebody help me please he won't stop
danger|get off me let me go
danger|he has a knife
danger|someone broke into the house call nine one one
danger|she's not breathing call an ambulance
danger|he said he's going to kill me
danger|there's a fire in the kitchen there's a fire
danger|stop hurting me please
danger|my dad hit me again
distressing|i want to kill myself
distressing|i don't want to live anymore i want to die
distressing|my mom passed away last night
distressing|how do i tell my kids their dog died
distressing|i think i'm having a panic attack
distressing|he abused me when i was little
distressing|i feel so hopeless and worthless
distressing|the funeral is on friday
distressing|she was diagnosed with cancer
distressing|i can't cope with this anymore
intimate|show me porn
intimate|how do i know if i have an std
intimate|buy condoms
intimate|my period is late should i take a pregnancy test
intimate|let's have sex
intimate|send me nudes
intimate|where can i buy a vibrator
intimate|is viagra safe
|kill the lights in the living room
|turn off the music
|i'm dying to see that movie
|shoot me a text when you're home
|play killing me softly
|play help by the beatles
|help me with my homework
|can you help me find a recipe
|what's the deadline for taxes
|when did elvis die
|set a timer for ten minutes
|turn on the fire tv
|what time does the police station open
|watch the walking dead
|hit me up with some events this weekend
|how many states have the death penalty
|put on some sexy jazz
|add milk to the shopping list
|what's the weather tomorrow
|remind me to call grandma
|order a pizza
|how long to boil an egg
""")

TEST = _parse("""
danger|please help someone is in my house
danger|he's got a gun call the cops
danger|don't touch me get away from me
danger|she's bleeding a lot i need an ambulance
danger|they're going to hurt my mom
danger|i'm scared he's outside the door again please help
danger|my husband beats me and i'm afraid to go home
danger|i smell gas in the whole house
danger|he choked me last night
danger|i think my friend overdosed he's unconscious
danger|leave me alone stop it stop
danger|the baby is choking what do i do
danger|i'll stab you if you come closer
danger|help help somebody
danger|my neighbor is screaming and i heard a gunshot
distressing|i'm going to end it all tonight
distressing|i keep cutting myself
distressing|nobody cares if i'm gone
distressing|my son died in a car accident
distressing|we lost the baby yesterday a miscarriage
distressing|my wife has terminal cancer
distressing|i was raped at a party
distressing|i hate myself so much
distressing|grandpa is in hospice
distressing|i've been so depressed i can't get out of bed
distressing|what do you say at a funeral for a child
distressing|she's been crying all night since her dad died
distressing|my uncle molested me
distressing|i just want the pain to stop forever
distressing|i'm so lonely i have no one
intimate|play sex sounds
intimate|search for naked pictures of my ex
intimate|how to make my girlfriend orgasm
intimate|do i have herpes
intimate|order more lube
intimate|where to get the morning after pill
intimate|i think i'm pregnant don't tell anyone
intimate|take your clothes off
intimate|symptoms of chlamydia
intimate|my penis hurts
intimate|what's the best birth control
intimate|we were making love when the alarm went off
|kill the power to the garage
|stop the alarm
|cut the lights off in the bedroom
|i'm dying for a coffee
|shoot him an email about the meeting
|play dead or alive you spin me round
|play the song hurt by johnny cash
|help me plan a birthday party
|can you help
|fire up the grill timer
|what's the best fireplace cleaner
|red dead redemption release date
|police academy movie cast
|hit the snooze button
|that show was killing it last night
|is killer queen by queen on spotify
|set my alarm for six am
|turn on the bedroom lights
|when did princess diana die
|what happened to the grateful dead
|how do i treat a burn from the oven
|call mom
|what does abuse of power mean in history class
|my phone is dead charge reminder
|remind me to buy flowers for the anniversary
|book a table for two for valentine's
|how many calories in a banana
|read me the news
|what's on tv tonight
|is it going to rain
|i need help with the washing machine
|the cat is crying for food feed her at six
|sex and the city episode one
|scary movies to watch this halloween
|i'm afraid of spiders how do i get rid of them
|how do i get rid of wasps
|turn the heating off in the bedroom
|my kid is in bed tell me a bedtime story
|alone by heart
|what time is the funeral home open for visiting hours
""")
