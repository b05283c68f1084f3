(** Prelude of deriv's Coq export: one lemma per derivative rule of the rule table
    (src/kernel/table.rs), stated over R, proved from Coquelicot; the functions deriv has
    and Coq lacks (tanh, sigmoid, softplus) as definitions; the sum lemmas (Kronecker
    delta collapse); and the tactics the exported proofs close their algebra with.
    No Admitted, admit, Axiom or Parameter. *)
Require Import Reals Lra Lia Psatz Coquelicot.Coquelicot.
Open Scope R_scope.

Definition tanh (x : R) : R := (exp x - exp (- x)) / (exp x + exp (- x)).
Definition sigmoid (x : R) : R := 1 / (1 + exp (- x)).
Definition softplus (x : R) : R := ln (1 + exp x).

Lemma exp_plus_pos (u : R) : 0 < 1 + exp u.
Proof. generalize (exp_pos u); lra. Qed.

Lemma sigmoid_pos (u : R) : 0 < sigmoid u.
Proof. unfold sigmoid; apply Rdiv_lt_0_compat; [lra | apply exp_plus_pos]. Qed.

Lemma one_minus_sigmoid_pos (u : R) : 0 < 1 - sigmoid u.
Proof.
  unfold sigmoid. generalize (exp_pos (- u)); intro H.
  replace (1 - 1 / (1 + exp (- u))) with (exp (- u) / (1 + exp (- u))) by (field; lra).
  apply Rdiv_lt_0_compat; lra.
Qed.

Lemma tanh_den_pos (u : R) : 0 < exp u + exp (- u).
Proof. generalize (exp_pos u) (exp_pos (- u)); lra. Qed.

(** The derivative rules. [u], [v] are the inner functions, [du], [dv] their derivatives. *)
Lemma D_eqv (f : R -> R) (x l l' : R) : is_derive f x l -> l = l' -> is_derive f x l'.
Proof. intros H E; rewrite <- E; exact H. Qed.

Lemma D_ext (f g : R -> R) (x l : R) :
  (forall t, f t = g t) -> is_derive f x l -> is_derive g x l.
Proof. exact (@is_derive_ext R_AbsRing R_NormedModule f g x l). Qed.

Lemma D_var (x : R) : is_derive (fun t => t) x 1.
Proof. exact (@is_derive_id R_AbsRing x). Qed.

Lemma D_const (c x : R) : is_derive (fun _ => c) x 0.
Proof. exact (@is_derive_const R_AbsRing R_NormedModule c x). Qed.

Lemma D_plus (u v : R -> R) (x du dv : R) :
  is_derive u x du -> is_derive v x dv -> is_derive (fun t => u t + v t) x (du + dv).
Proof. exact (@is_derive_plus R_AbsRing R_NormedModule u v x du dv). Qed.

Lemma D_opp (u : R -> R) (x du : R) :
  is_derive u x du -> is_derive (fun t => - u t) x (- du).
Proof. exact (@is_derive_opp R_AbsRing R_NormedModule u x du). Qed.

Lemma D_mult (u v : R -> R) (x du dv : R) :
  is_derive u x du -> is_derive v x dv ->
  is_derive (fun t => u t * v t) x (du * v x + u x * dv).
Proof. apply Coquelicot.Derive.is_derive_mult. Qed.

Lemma D_div (u v : R -> R) (x du dv : R) :
  is_derive u x du -> is_derive v x dv -> v x <> 0 ->
  is_derive (fun t => u t / v t) x ((du * v x - u x * dv) / v x ^ 2).
Proof. apply is_derive_div. Qed.

Lemma D_pow (u : R -> R) (n : nat) (x du : R) :
  is_derive u x du -> is_derive (fun t => u t ^ n) x (INR n * du * u x ^ pred n).
Proof. apply is_derive_pow. Qed.

Lemma D_exp (u : R -> R) (x du : R) :
  is_derive u x du -> is_derive (fun t => exp (u t)) x (exp (u x) * du).
Proof.
  intro H. eapply D_eqv. apply (is_derive_comp exp u x (exp (u x)) du (is_derive_exp _) H).
  simpl. unfold scal; simpl; unfold mult; simpl; ring.
Qed.

Lemma D_ln (u : R -> R) (x du : R) :
  is_derive u x du -> 0 < u x -> is_derive (fun t => ln (u t)) x (du / u x).
Proof.
  intros H P. eapply D_eqv. apply (is_derive_comp ln u x (/ u x) du (is_derive_ln _ P) H).
  unfold scal; simpl; unfold mult; simpl; field; lra.
Qed.

Lemma D_sqrt (u : R -> R) (x du : R) :
  is_derive u x du -> 0 < u x -> is_derive (fun t => sqrt (u t)) x (du / (2 * sqrt (u x))).
Proof. apply is_derive_sqrt. Qed.

Lemma D_sin (u : R -> R) (x du : R) :
  is_derive u x du -> is_derive (fun t => sin (u t)) x (cos (u x) * du).
Proof.
  intro H. eapply D_eqv. apply (is_derive_comp sin u x _ du (is_derive_sin _) H).
  unfold scal; simpl; unfold mult; simpl; ring.
Qed.

Lemma D_cos (u : R -> R) (x du : R) :
  is_derive u x du -> is_derive (fun t => cos (u t)) x (- sin (u x) * du).
Proof.
  intro H. eapply D_eqv. apply (is_derive_comp cos u x _ du (is_derive_cos _) H).
  unfold scal; simpl; unfold mult; simpl; ring.
Qed.

Lemma D_tan (u : R -> R) (x du : R) :
  is_derive u x du -> cos (u x) <> 0 ->
  is_derive (fun t => tan (u t)) x ((1 + tan (u x) ^ 2) * du).
Proof.
  intros H C. eapply D_eqv. apply (is_derive_comp tan u x _ du (is_derive_tan _ C) H).
  unfold scal; simpl; unfold mult; simpl; ring.
Qed.

Lemma D_tanh (u : R -> R) (x du : R) :
  is_derive u x du -> is_derive (fun t => tanh (u t)) x ((1 - tanh (u x) ^ 2) * du).
Proof.
  intro H. unfold tanh.
  assert (Hm : is_derive (fun t => - u t) x (- du)) by (apply D_opp; exact H).
  eapply D_eqv.
  - apply D_div; [apply D_plus with (v := fun t => - exp (- u t)) | apply D_plus | ].
    + apply D_exp; exact H.
    + apply D_opp, D_exp; exact Hm.
    + apply D_exp; exact H.
    + apply D_exp; exact Hm.
    + apply Rgt_not_eq, tanh_den_pos.
  - generalize (tanh_den_pos (u x)); intro P. field. lra.
Qed.

Lemma D_sigmoid (u : R -> R) (x du : R) :
  is_derive u x du ->
  is_derive (fun t => sigmoid (u t)) x (sigmoid (u x) * (1 - sigmoid (u x)) * du).
Proof.
  intro H. unfold sigmoid.
  eapply D_eqv.
  - apply D_div; [apply D_const | apply D_plus; [apply D_const | apply D_exp, D_opp; exact H] | ].
    apply Rgt_not_eq, exp_plus_pos.
  - generalize (exp_plus_pos (- u x)); intro P. field. lra.
Qed.

Lemma D_softplus (u : R -> R) (x du : R) :
  is_derive u x du -> is_derive (fun t => softplus (u t)) x (sigmoid (u x) * du).
Proof.
  intro H. unfold softplus, sigmoid.
  eapply D_eqv.
  - apply D_ln; [apply D_plus; [apply D_const | apply D_exp; exact H] | apply exp_plus_pos].
  - generalize (exp_plus_pos (u x)) (exp_pos (u x)); intros P Q.
    rewrite exp_Ropp.
    replace (1 + / exp (u x)) with ((exp (u x) + 1) / exp (u x)) by (field; lra).
    field. lra.
Qed.

Lemma D_rpower (u : R -> R) (c x du : R) :
  is_derive u x du -> 0 < u x ->
  is_derive (fun t => Rpower (u t) c) x (c * Rpower (u x) (c - 1) * du).
Proof.
  intros H P. unfold Rpower at 1.
  eapply D_eqv.
  - apply D_exp. apply is_derive_scal. apply D_ln; [exact H | exact P].
  - assert (E : exp (c * ln (u x)) = Rpower (u x) (c - 1) * u x).
    { unfold Rpower. transitivity (exp ((c - 1) * ln (u x)) * exp (ln (u x))).
      - rewrite <- exp_plus. f_equal. ring.
      - rewrite exp_ln by exact P. reflexivity. }
    cbv beta. rewrite E. field. lra.
Qed.

(** Side conditions and algebra. *)
Ltac dpos :=
  solve [ assumption | apply PI_RGT_0 | apply exp_pos | apply exp_plus_pos | apply sigmoid_pos
        | apply one_minus_sigmoid_pos | apply tanh_den_pos
        | apply sqrt_lt_R0; dpos | apply Rplus_lt_0_compat; dpos
        | apply Rmult_lt_0_compat; dpos | apply pow_lt; dpos
        | apply Rdiv_lt_0_compat; dpos | apply Rinv_0_lt_compat; dpos
        | unfold Rgt in *; nra | lra ].

Ltac dnz :=
  solve [ assumption | apply Rgt_not_eq; unfold Rgt; dpos
        | apply Rlt_not_eq; apply Ropp_lt_cancel; rewrite Ropp_0; dpos
        | apply pow_nonzero; dnz | apply Rmult_integral_contrapositive_currified; dnz
        | apply Rinv_neq_0_compat; dnz
        | unfold Rgt in *; nra ].

Ltac dcond := match goal with
  | |- _ /\ _ => split; dcond
  | |- _ <> _ => dnz
  | |- _ > _ => unfold Rgt; dpos
  | |- _ < _ => dpos
  | _ => idtac
  end.

(** Closes [lemma value = certificate value]: beta, the nat of a power, then field. *)
Ltac dalg :=
  cbv beta; cbn [pred Nat.sub INR];
  first [ ring | field; dcond
        | unfold Rpower, sigmoid, softplus, tanh, tan;
          rewrite ?exp_Ropp, ?Ropp_involutive, ?exp_ln, ?ln_exp, ?exp_plus, ?exp_0, ?ln_1,
            ?sin_0, ?cos_0, ?sin_PI2, ?cos_PI2, ?sin_PI, ?cos_PI by dcond;
          first [ ring | field; dcond ] ].

(** A function rewritten pointwise: beta, then ring (or [Rpower]'s definition). *)
Ltac dfn :=
  cbv beta; first [ reflexivity | ring | unfold Rpower; reflexivity | field; dcond ].

(** One certificate step: [T] is the rule's lemma applied to the inner derivatives; the
    function is the step's up to [dfn], the value the step's up to [dalg]. *)
Lemma D_step (f g : R -> R) (x l l' : R) :
  is_derive f x l -> l = l' -> (forall t, f t = g t) -> is_derive g x l'.
Proof. intros H E F. apply (D_ext f g x l' F). rewrite <- E. exact H. Qed.

Tactic Notation "dstep" constr(T) :=
  refine (D_step _ _ _ _ _ T _ _); [ dalg | intro; dfn ].
