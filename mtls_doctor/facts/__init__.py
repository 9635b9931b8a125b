"""Facts: typed, frozen observations computed from the user's inputs. Rules read them; nothing here decides."""
