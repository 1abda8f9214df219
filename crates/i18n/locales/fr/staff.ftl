# La console de l’équipe (staff_*.html) et les questions telles qu’on les lit.

## staff_base.html et refus
staff-console = Console de l’équipe
staff-nav-queue = File d’examen
staff-nav-audit = Journal d’audit
staff-nav-own-account = Votre propre compte
staff-only-title = Réservé à l’équipe
staff-only-text = Cette console est réservée aux examinateurs et aux administrateurs.
staff-no-authenticator-title = Associez d’abord une application d’authentification
staff-no-authenticator-text = L’équipe n’a pas accès à la console tant qu’une application d’authentification n’est pas associée à son compte.
staff-unconfirmed-title = En attente d’un administrateur
staff-unconfirmed-text = Ce compte d’équipe a été réinitialisé : un administrateur doit le confirmer avant qu’il retrouve ses accès.
staff-admins-only-title = Réservé aux administrateurs
staff-admins-only-text = Seuls les administrateurs peuvent faire cela ; les examinateurs examinent les demandes de récupération.
staff-to-settings = Aller à vos réglages de sécurité
staff-to-queue = Retour à la file d’examen

## staff_queue.html
staff-queue-title = Demandes de récupération en attente d’examen
staff-queue-lead = Les plus risquées d’abord. Ouvrez une demande pour voir ses éléments et l’approuver ou la refuser.
staff-risk = Risque
staff-submitted = Envoyée
staff-restore = À rétablir
staff-case = Demande
staff-flag = compte d’équipe
staff-open-case = Ouvrir la demande
staff-queue-empty = Rien n’attend d’examen.

## staff_audit.html
staff-audit-account = Identifiant du compte
staff-audit-filter = Filtrer
staff-audit-kind-title = Nom dans le journal d’audit
staff-audit-of-account = compte
staff-audit-none = Aucun évènement.

## staff_case.html
staff-case-title = Demande de récupération
staff-case-audit-link = Journal d’audit de ce compte
staff-case-staff-title = Compte d’équipe.
staff-case-staff-text = Ce compte a un rôle dans l’équipe : la demande est à haut risque, et après une réinitialisation le compte n’a plus d’accès d’équipe tant qu’un administrateur ne l’a pas confirmé.
staff-case-status = État
staff-status-open = Ouverte : le titulaire la complète encore
staff-status-pending_review = En attente d’examen
staff-status-approved = Approuvée
staff-status-rejected = Refusée
staff-status-cancelled = Annulée
staff-status-expired = Expirée
staff-case-status-name = Nom de l’état dans l’API et la ligne de commande
staff-case-high-risk = haut risque : deux examinateurs doivent approuver
staff-case-new-phone = nouveau téléphone
staff-case-new-email = nouvel e-mail
staff-case-email-taken = utilisé par un autre compte
staff-case-account = Compte
staff-case-opened = ouvert le
staff-case-frozen = gelé
staff-case-opened-submitted = Ouverte / envoyée
staff-case-from = depuis
staff-case-codes = Codes
staff-case-email-code = e-mail
staff-case-phone-code = téléphone
staff-case-proven = confirmé
staff-case-not-proven = non confirmé
staff-case-questions = Questions
staff-case-answers-right = { $right } juste(s) sur { $total }
staff-outcome-right = juste
staff-outcome-wrong = faux
staff-outcome-blank = sans réponse
staff-case-document = Document
staff-case-signals = Signaux de risque
staff-case-signal-name = Nom du signal
staff-case-documents = Documents
staff-case-first-approval = Première approbation :
staff-case-decision-note = Note de décision :
staff-case-hold-until = Retraits bloqués jusqu’au
staff-case-decide = Décider
staff-case-approve-note = Note d’approbation (gardée dans le journal d’audit)
staff-case-approve = Approuver
staff-case-first-of-two = (première sur deux)
staff-case-reject-reason = Motif du refus (gardé dans le journal d’audit)
staff-case-reject = Refuser
staff-done-first-approval = Votre approbation est enregistrée. Un second examinateur, différent, doit approuver cette demande à haut risque.
staff-done-approved = La demande est approuvée : les éléments choisis sont réinitialisés et le titulaire est prévenu.
staff-done-rejected = La demande est refusée : rien ne change, et le titulaire est prévenu.
staff-done = C’est fait.

## Les questions de sécurité (identifiants de l’API, « : » écrit « - »)
question-first_pet = Quel était le nom de votre premier animal de compagnie ?
question-birth_city = Dans quelle ville êtes-vous né(e) ?
question-first_school = Quel était le nom de votre première école ?
question-childhood_friend = Quel était le prénom de votre meilleur(e) ami(e) d’enfance ?
question-first_car = Quels étaient la marque et le modèle de votre première voiture ?
question-parents_meeting_city = Dans quelle ville vos parents se sont-ils rencontrés ?
question-first_job = Quel a été votre premier emploi ?
question-favourite_teacher = Quel était le nom de famille de votre professeur préféré ?
question-fact-account_opened = En quel mois et quelle année avez-vous ouvert votre compte ? (par exemple 2024-03)
question-fact-authenticator_added = En quel mois et quelle année avez-vous ajouté votre application d’authentification ? (par exemple 2024-03)
question-fact-last_withdrawal_asset = Quel actif avez-vous retiré en dernier ? (par exemple BTC)
staff-case-passkeys = Clés d’accès
staff-case-passkeys-count = { $n ->
        [one] une
       *[other] { $n }
    }
staff-case-passkeys-none = aucune
