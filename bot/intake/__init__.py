"""The intake core (issue 21): visits as the clinic's schedule sends them, and what goes back.

Pure and framework-free: every source (a CSV export, the HTTP API, a FHIR ``Appointment``)
is read into the one :class:`~bot.intake.rows.IntakeRow`, or a
:class:`~bot.intake.rows.RowError` for that row; answers go back as signed JSON events
(:mod:`bot.intake.signing`); a visit is offered as an "Add to calendar" file
(:mod:`bot.intake.calendar`). The services, the command line and the web pages call this
package; it imports nothing from aiogram, the handlers, the database or the services
(pyproject's ``intake-is-pure`` contract).
"""
