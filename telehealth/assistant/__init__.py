"""The speech assistant per participant: live captions, voice commands, voice intake."""
