"""Functional model builders (keras.ops only): localization, cross-modal, ED-TCN."""
