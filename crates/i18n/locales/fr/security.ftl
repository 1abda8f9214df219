# Le centre de sécurité : geler un compte, la phrase anti-hameçonnage et la
# réinitialisation d’un mot de passe oublié.

audit-freeze-code-sent = Code envoyé pour geler le compte
audit-freeze-refused = Gel refusé : un lien qui ne vient pas de nous
audit-password-reset-requested = Réinitialisation du mot de passe demandée
audit-password-reset-started = Code de réinitialisation accepté
audit-password-reset-failed = Réinitialisation du mot de passe : mauvais code du second facteur
audit-password-reset = Mot de passe réinitialisé
audit-anti-phishing-set = Phrase anti-hameçonnage définie
audit-anti-phishing-removed = Phrase anti-hameçonnage supprimée

mail-freeze-footer = Ce n’était pas vous, ou votre téléphone est perdu ou volé ? Gelez votre compte en un clic : { $link }
mail-anti-phishing-line = Votre phrase anti-hameçonnage { $app } : { $phrase }
mail-frozen-by-owner-subject = Votre compte est gelé
mail-frozen-by-owner-body = Votre compte { $app } est gelé : personne ne peut se connecter ni effectuer de retrait, toutes les sessions ont été fermées et toute récupération en cours a été arrêtée. Pour le dégeler, choisissez « Mot de passe oublié ? » sur la page de connexion puis « Vérification de sécurité indisponible », ou contactez notre équipe.
mail-anti-phishing-subject = Votre phrase anti-hameçonnage a changé
mail-anti-phishing-set-body = Votre phrase anti-hameçonnage { $app } a été définie. Désormais, chaque e-mail de notre part l’affiche sur sa première ligne : un e-mail sans elle ne vient pas de nous. Si ce n’était pas vous, gelez votre compte avec le lien ci-dessous.
mail-anti-phishing-removed-body = Votre phrase anti-hameçonnage { $app } a été supprimée. Si ce n’était pas vous, gelez votre compte avec le lien ci-dessous.
mail-password-reset-subject = Votre mot de passe a été réinitialisé
mail-password-reset-body = Le mot de passe de votre compte { $app } a été réinitialisé après un code envoyé à cette adresse et { $factor }. Toutes les sessions ont été fermées. { $hold }Si ce n’était pas vous, gelez votre compte maintenant avec le lien ci-dessous : quelqu’un a votre messagerie et votre second facteur.
mail-password-reset-factor-totp = un code de votre application d’authentification
mail-password-reset-factor-sms = un code envoyé à votre téléphone
mail-password-reset-factor-passkey = l’une de vos clés d’accès
mail-password-reset-factor-none = rien d’autre, car votre compte n’a pas de second facteur
sms-password-reset = { $app } : votre mot de passe a été réinitialisé. Pas vous ? Gelez votre compte : { $link }
sms-frozen-by-owner = { $app } : votre compte est gelé. Personne ne peut se connecter ni effectuer de retrait.

login-forgot = Mot de passe oublié ?
login-freeze = Geler mon compte
account-phrase = Phrase anti-hameçonnage
account-phrase-set = Définie : chaque e-mail de notre part l’affiche sur sa première ligne.
account-phrase-none = Non définie. Choisissez une phrase que chaque véritable e-mail de notre part affichera.
account-phrase-add = Définir une phrase
account-done-phrase = Votre phrase anti-hameçonnage est définie. Cherchez-la en haut de chaque e-mail de notre part.
account-done-phrase-removed = Votre phrase anti-hameçonnage a été supprimée.

reset-title = Réinitialiser votre mot de passe
reset-lead = Saisissez l’adresse e-mail de votre compte. S’il en existe un, nous y envoyons un code.
reset-send-code = M’envoyer un code
reset-code-lead = Si { $email } appartient à un compte, un code y est envoyé. Il est valable { $minutes } minutes.
reset-code-label = Code reçu par e-mail
reset-continue = Continuer
reset-other-address = Utiliser une autre adresse
reset-back-to-sign-in = Retour à la connexion
reset-expired = Cette réinitialisation est terminée. Recommencez.
reset-code-wrong = Ce code n’est pas bon ou n’est plus valable. Vérifiez le dernier e-mail, ou demandez un nouveau code.
reset-new-title = Choisissez un nouveau mot de passe
reset-frozen = Ce compte est gelé. Un nouveau mot de passe ne peut pas le dégeler : commencez ci-dessous une récupération (« Vérification de sécurité indisponible »), que notre équipe examine, ou contactez-la.
reset-prove-totp = Prouvez que c’est vous avec un code de votre application d’authentification.
reset-prove-phone = Prouvez que c’est vous avec un code envoyé à votre téléphone.
reset-no-factor = Votre compte n’a pas de second facteur : le code reçu par e-mail suffit.
reset-sent = Un code a été envoyé au { $to }.
reset-new-password = Nouveau mot de passe
reset-password-hint = 8 à 128 caractères.
reset-what-happens = Toutes les sessions de votre compte seront fermées et les retraits suspendus pour un temps. Nous prévenons votre e-mail et votre téléphone.
reset-submit = Définir le nouveau mot de passe
reset-factor-wrong = Ce code n’est pas bon. Utilisez un code actuel.
reset-done-title = Votre mot de passe est réinitialisé
reset-done = Votre mot de passe a été changé et toutes les sessions ont été fermées.
reset-done-hold = Les retraits sont suspendus jusqu’au
reset-sign-in = Se connecter

freeze-title = Geler mon compte
freeze-lead = Pour le moment où votre téléphone est perdu ou volé : personne ne peut se connecter ni effectuer de retrait, et toutes les sessions sont fermées, jusqu’à ce que notre équipe ou une récupération approuvée le dégèle.
freeze-submit = Geler mon compte maintenant
freeze-code-lead = Si { $email } appartient à un compte, un code y est envoyé. Saisissez-le pour geler le compte.
freeze-done = Votre compte est gelé. Personne ne peut se connecter ni effectuer de retrait, et toutes les sessions ont été fermées.
freeze-undo = Pour le dégeler, utilisez « Mot de passe oublié ? » puis « Vérification de sécurité indisponible » sur la page de réinitialisation, ou contactez notre équipe.
freeze-link-unknown = Ce lien de gel ne vient pas de nous. Utilisez le lien d’un e-mail que nous avons envoyé, ou demandez un code ci-dessous.

phrase-title = Phrase anti-hameçonnage
phrase-lead = Choisissez quelques mots que vous seul connaissez. Chaque e-mail de notre part les affichera sur sa première ligne : un e-mail sans eux ne vient pas de nous. Nous n’affichons jamais la phrase sur une page ni dans un SMS.
phrase-is-set = Une phrase est définie. En saisir une nouvelle la remplace.
phrase-label = Phrase
phrase-hint = 4 à 40 caractères.
phrase-set = Définir la phrase
phrase-change = Remplacer la phrase
phrase-remove = Supprimer la phrase
phrase-back = Retour aux paramètres de sécurité
reset-unavailable = Vérification de sécurité indisponible
reset-unavailable-lead = Vous avez aussi perdu votre application d’authentification ou votre téléphone ? Demandez à notre équipe de restaurer votre compte : choisissez ici le nouveau mot de passe, puis prouvez votre e-mail et votre téléphone, répondez à quelques questions et envoyez la photo d’une pièce d’identité. Une fois la demande approuvée, ce mot de passe fonctionne et les retraits sont suspendus 48 heures. Votre e-mail et votre téléphone sont prévenus aussitôt, et le vrai titulaire peut arrêter la demande.
reset-open-recovery = Commencer la récupération
recovery-item-password = le mot de passe
recovery-items-sets-password = Cette récupération définit aussi le nouveau mot de passe que vous avez choisi. Cochez ce que vous avez perdu d’autre, ou rien.
reset-prove-passkey = Prouvez que c’est vous avec votre clé d’accès, et choisissez le nouveau mot de passe.
reset-passkey-submit = Utiliser ma clé d’accès et définir le mot de passe
reset-or-code = Ou prouvez-le plutôt avec un code.
