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
mail-password-reset-factor-none = rien d’autre, car votre compte n’a pas de second facteur
sms-password-reset = { $app } : votre mot de passe a été réinitialisé. Pas vous ? Gelez votre compte : { $link }
sms-frozen-by-owner = { $app } : votre compte est gelé. Personne ne peut se connecter ni effectuer de retrait.
