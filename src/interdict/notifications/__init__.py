"""Notifications: what a user is told (in-app, e-mail, webhooks), rendered as that user when read or sent."""
