# The staff console (staff_*.html) and the questions as people read them.

## staff_base.html and refusals
staff-console = Staff console
staff-nav-queue = Review queue
staff-nav-audit = Audit log
staff-nav-own-account = Your own account
staff-only-title = Staff only
staff-only-text = This console is for reviewers and admins.
staff-no-authenticator-title = Bind an authenticator first
staff-no-authenticator-text = Staff accounts must bind an authenticator first: bind one in your security settings, then sign in again with it.
staff-unconfirmed-title = Waiting for an admin
staff-unconfirmed-text = The second factor of this staff account was reset; its staff access is paused until an admin confirms it.
staff-admins-only-title = Admins only
staff-admins-only-text = Only admins may do this; reviewers review recovery cases.
staff-to-settings = Go to your security settings
staff-to-queue = Back to the review queue

## staff_queue.html
staff-queue-title = Recovery cases waiting for review
staff-queue-lead = Highest risk first. Open a case to see its evidence and approve or reject it.
staff-risk = Risk
staff-submitted = Submitted
staff-restore = Restore
staff-case = Case
staff-flag = staff account
staff-open-case = Open case
staff-queue-empty = Nothing is waiting for review.

## staff_audit.html
staff-audit-account = Account id
staff-audit-filter = Filter
staff-audit-kind-title = Name in the audit log
staff-audit-of-account = account
staff-audit-none = No events.

## staff_case.html
staff-case-title = Recovery case
staff-case-audit-link = Audit log of this account
staff-case-staff-title = Staff account.
staff-case-staff-text = This account holds a staff role: the case is high risk, and after a reset the account has no staff access until an admin confirms it.
staff-case-status = Status
staff-status-open = Open: the owner is still completing it
staff-status-pending_review = Waiting for review
staff-status-approved = Approved
staff-status-rejected = Rejected
staff-status-cancelled = Cancelled
staff-status-expired = Expired
staff-case-status-name = Status name in the API and the command line
staff-case-high-risk = high risk: two reviewers must approve
staff-case-new-phone = new phone
staff-case-new-email = new e-mail
staff-case-email-taken = used by another account
staff-case-account = Account
staff-case-opened = opened
staff-case-frozen = frozen
staff-case-opened-submitted = Opened / submitted
staff-case-from = from
staff-case-codes = Codes
staff-case-email-code = e-mail
staff-case-phone-code = phone
staff-case-proven = proven
staff-case-not-proven = not proven
staff-case-questions = Questions
staff-case-answers-right = { $right } of { $total } right
staff-outcome-right = right
staff-outcome-wrong = wrong
staff-outcome-blank = not answered
staff-case-document = Document
staff-case-signals = Risk signals
staff-case-signal-name = Signal name
staff-case-documents = Documents
staff-case-first-approval = First approval:
staff-case-decision-note = Decision note:
staff-case-hold-until = Withdrawal hold until
staff-case-decide = Decide
staff-case-approve-note = Approval note (kept in the audit log)
staff-case-approve = Approve
staff-case-first-of-two = (first of two)
staff-case-reject-reason = Reason for rejecting (kept in the audit log)
staff-case-reject = Reject
staff-done-first-approval = Your approval is recorded. A second, different reviewer must approve this high-risk case.
staff-done-approved = The case is approved: the chosen items are reset and the owner is told.
staff-done-rejected = The case is rejected: nothing changes, and the owner is told.
staff-done = Done.

## The security questions (ids as the API names them, ":" written "-")
question-first_pet = What was the name of your first pet?
question-birth_city = In which city were you born?
question-first_school = What was the name of your first school?
question-childhood_friend = What was the first name of your childhood best friend?
question-first_car = What was the make and model of your first car?
question-parents_meeting_city = In which city did your parents meet?
question-first_job = What was your first job?
question-favourite_teacher = What was the surname of your favourite teacher?
question-fact-account_opened = In which month and year did you open your account? (e.g. 2024-03)
question-fact-authenticator_added = In which month and year did you add your authenticator app? (e.g. 2024-03)
question-fact-last_withdrawal_asset = Which asset did you last withdraw? (e.g. BTC)
staff-case-passkeys = Passkeys
staff-case-passkeys-count = { $n ->
        [one] one
       *[other] { $n }
    }
staff-case-passkeys-none = none
