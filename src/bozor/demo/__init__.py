"""`bozor demo`: the Bot API emulator, Bozor and a browser chat, on a throw-away database.

No token, no internet: the bot runs exactly as in production, but Telegram is the bundled
emulator, people are played from the browser (the emulator's web chat) through its control
API, and the database is filled with believable sample data by each feature's seeder
(`bozor.demo.seeding`).

The run itself is `bozor.demo.runner.run_demo`, not imported here: the features' seeders import
the personas, and the runner imports the features.
"""

from bozor.demo.personas import DEMO_ADMIN_ID, DEMO_TOKEN, PERSONAS, Persona

__all__ = ["DEMO_ADMIN_ID", "DEMO_TOKEN", "PERSONAS", "Persona"]
