(** Prelude of deriv's Coq export: one lemma per derivative rule of the rule table
    (src/kernel/table.rs), stated over R, proved from Coquelicot; the functions deriv has
    and Coq lacks (tanh, sigmoid, softplus) as definitions; the sum lemmas (Kronecker
    delta collapse); and the tactics the exported proofs close their algebra with.
    No Admitted, admit, Axiom or Parameter. *)
Require Import Reals Lra Lia Psatz Coquelicot.Coquelicot.
Require Import FunctionalExtensionality Setoid Morphisms.
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

(** Index notation. [sum lo hi f] is [f lo + … + f hi] (0 when [hi < lo]); [delta] is the
    Kronecker delta; [upd z j t] is [z] with its [j]-th entry replaced by [t], so that
    [fun t => F (upd z j t)] at [t = z j] is the partial derivative with respect to [z_j]. *)
Fixpoint sum_to (m : nat) (f : nat -> R) : R :=
  match m with O => 0 | S p => sum_to p f + f p end.
Definition sum (lo hi : nat) (f : nat -> R) : R := sum_to (S hi - lo) (fun k => f (lo + k)%nat).
Definition delta (i j : nat) : R := if Nat.eqb i j then 1 else 0.
Definition upd (z : nat -> R) (j : nat) (t : R) : nat -> R := fun k => if Nat.eqb k j then t else z k.

Lemma upd_same (z : nat -> R) (j : nat) : upd z j (z j) = z.
Proof.
  apply functional_extensionality; intro k; unfold upd.
  destruct (Nat.eqb_spec k j); [subst; reflexivity | reflexivity].
Qed.

(** The same for a matrix: [upd2 W p q t] is [W] with its entry [(p, q)] replaced by [t]. *)
Definition upd2 (W : nat -> nat -> R) (p q : nat) (t : R) : nat -> nat -> R :=
  fun a b => if andb (Nat.eqb a p) (Nat.eqb b q) then t else W a b.

Lemma upd2_same_at (W : nat -> nat -> R) (p q a b : nat) : upd2 W p q (W p q) a b = W a b.
Proof.
  unfold upd2. destruct (Nat.eqb_spec a p), (Nat.eqb_spec b q); simpl; subst; reflexivity.
Qed.

Lemma upd2_same (W : nat -> nat -> R) (p q : nat) : upd2 W p q (W p q) = W.
Proof.
  apply functional_extensionality; intro a; apply functional_extensionality; intro b.
  apply upd2_same_at.
Qed.

Lemma upd_same_at (z : nat -> R) (j k : nat) : upd z j (z j) k = z k.
Proof. rewrite upd_same; reflexivity. Qed.

Lemma sum_to_ext (m : nat) (f g : nat -> R) :
  (forall k, (k < m)%nat -> f k = g k) -> sum_to m f = sum_to m g.
Proof.
  induction m; intro H; simpl; [reflexivity|].
  rewrite IHm by (intros; apply H; lia). rewrite H by lia. reflexivity.
Qed.

Lemma sum_ext (lo hi : nat) (f g : nat -> R) :
  (forall k, (lo <= k <= hi)%nat -> f k = g k) -> sum lo hi f = sum lo hi g.
Proof. intro H; unfold sum; apply sum_to_ext; intros; apply H; lia. Qed.

(** [sum] respects pointwise equality, so [setoid_rewrite] reaches into its terms. *)
#[export] Instance sum_proper lo hi : Proper (pointwise_relation nat eq ==> eq) (sum lo hi).
Proof. intros f g H; apply sum_ext; intros; apply H. Qed.

(** The variable read back at the point: [upd z j (z j)] is [z], entry by entry (keeping
    the terms' shape, which [ring] compares) and where it is passed whole. *)
Ltac dpoint :=
  try setoid_rewrite upd_same_at; try setoid_rewrite upd2_same_at; rewrite ?upd_same, ?upd2_same.

Lemma D_sum_to (m : nat) (u : nat -> R -> R) (x : R) (du : nat -> R) :
  (forall k, (k < m)%nat -> is_derive (u k) x (du k)) ->
  is_derive (fun t => sum_to m (fun k => u k t)) x (sum_to m du).
Proof.
  induction m; intro H; simpl.
  - apply (@is_derive_const R_AbsRing R_NormedModule).
  - apply (@is_derive_plus R_AbsRing R_NormedModule); [apply IHm; intros; apply H; lia | apply H; lia].
Qed.

Lemma D_sum (lo hi : nat) (u : nat -> R -> R) (x : R) (du : nat -> R) :
  (forall k, (lo <= k <= hi)%nat -> is_derive (u k) x (du k)) ->
  is_derive (fun t => sum lo hi (fun k => u k t)) x (sum lo hi du).
Proof.
  intro H; unfold sum.
  apply (D_sum_to _ (fun k => u (lo + k)%nat) x (fun k => du (lo + k)%nat)).
  intros; apply H; lia.
Qed.

Lemma D_upd (z : nat -> R) (j k : nat) : is_derive (fun t => upd z j t k) (z j) (delta k j).
Proof.
  unfold upd, delta; destruct (Nat.eqb k j).
  - apply (@is_derive_id R_AbsRing).
  - apply (@is_derive_const R_AbsRing R_NormedModule).
Qed.

Lemma D_upd2 (W : nat -> nat -> R) (p q a b : nat) :
  is_derive (fun t => upd2 W p q t a b) (W p q) (delta a p * delta b q).
Proof.
  unfold upd2, delta; destruct (Nat.eqb a p), (Nat.eqb b q); simpl.
  - rewrite Rmult_1_l; apply D_var.
  - rewrite Rmult_0_r; apply D_const.
  - rewrite Rmult_0_l; apply D_const.
  - rewrite Rmult_0_l; apply D_const.
Qed.

Lemma sum_to_zero (m : nat) (g : nat -> R) : (forall k, (k < m)%nat -> g k = 0) -> sum_to m g = 0.
Proof. induction m; intro H; simpl; [reflexivity|]. rewrite IHm, H by (intros; try apply H; lia). ring. Qed.

Lemma sum_to_single (m j : nat) (g : nat -> R) :
  (j < m)%nat -> (forall k, (k < m)%nat -> k <> j -> g k = 0) -> sum_to m g = g j.
Proof.
  induction m; intros Hj H; [lia|]. simpl.
  destruct (Nat.eq_dec j m) as [->|Hne].
  - rewrite sum_to_zero by (intros; apply H; lia). ring.
  - rewrite IHm by (intros; try apply H; lia). rewrite (H m) by lia. ring.
Qed.

Lemma sum_single (lo hi j : nat) (g : nat -> R) :
  (lo <= j <= hi)%nat -> (forall k, (lo <= k <= hi)%nat -> k <> j -> g k = 0) -> sum lo hi g = g j.
Proof.
  intros Hj H; unfold sum.
  rewrite (sum_to_single _ (j - lo)) by (try intros; try apply H; lia).
  f_equal; lia.
Qed.

Lemma delta_same (k : nat) : delta k k = 1.
Proof. unfold delta; rewrite Nat.eqb_refl; reflexivity. Qed.
Lemma delta_ne (k j : nat) : k <> j -> delta k j = 0.
Proof. intro H; unfold delta; apply Nat.eqb_neq in H; rewrite H; reflexivity. Qed.
Lemma delta_ne' (k j : nat) : k <> j -> delta j k = 0.
Proof. intro H; unfold delta; apply Nat.eqb_neq in H; rewrite Nat.eqb_sym, H; reflexivity. Qed.
Lemma delta_sym (k j : nat) : delta k j = delta j k.
Proof. unfold delta; rewrite Nat.eqb_sym; reflexivity. Qed.
Lemma delta_sq (k j : nat) : delta k j ^ 2 = delta k j.
Proof. unfold delta; destruct (Nat.eqb k j); ring. Qed.

(** The rule table's rules about sums and deltas. *)
Lemma sum_delta_collapse (lo hi j : nat) (f : nat -> R) :
  (lo <= j <= hi)%nat -> sum lo hi (fun k => f k * delta k j) = f j.
Proof.
  intro Hj. rewrite (sum_single lo hi j) by (intros; try rewrite delta_ne by lia; try ring; lia).
  rewrite delta_same; ring.
Qed.

Lemma sum_to_plus m f g : sum_to m (fun k => f k + g k) = sum_to m f + sum_to m g.
Proof. induction m; simpl; [ring | rewrite IHm; ring]. Qed.
Lemma sum_to_scal m c f : sum_to m (fun k => c * f k) = c * sum_to m f.
Proof. induction m; simpl; [ring | rewrite IHm; ring]. Qed.
Lemma sum_plus lo hi f g :
  sum lo hi (fun k => f k + g k) = sum lo hi (fun k => f k) + sum lo hi (fun k => g k).
Proof. unfold sum; apply sum_to_plus with (f := fun k => f (lo + k)%nat) (g := fun k => g (lo + k)%nat). Qed.
Lemma sum_scal lo hi c f : sum lo hi (fun k => c * f k) = c * sum lo hi (fun k => f k).
Proof. unfold sum; apply sum_to_scal with (f := fun k => f (lo + k)%nat). Qed.
Lemma sum_opp lo hi f : sum lo hi (fun k => - f k) = - sum lo hi (fun k => f k).
Proof.
  transitivity (sum lo hi (fun k => -1 * f k)); [apply sum_ext; intros; ring |].
  rewrite sum_scal; ring.
Qed.
Lemma sum_div lo hi f c : sum lo hi (fun k => f k) / c = sum lo hi (fun k => f k / c).
Proof. unfold Rdiv. rewrite Rmult_comm, <- sum_scal. apply sum_ext; intros; ring. Qed.
Lemma sum_to_const m c : sum_to m (fun _ => c) = INR m * c.
Proof. induction m; [simpl; ring | simpl sum_to; rewrite IHm, S_INR; ring]. Qed.
Lemma sum_const lo hi c : sum lo hi (fun _ => c) = INR (S hi - lo) * c.
Proof. unfold sum; apply sum_to_const. Qed.

Lemma sum_to_pos m g : (1 <= m)%nat -> (forall k, (k < m)%nat -> 0 < g k) -> 0 < sum_to m g.
Proof.
  induction m as [|m IH]; intros Hm H; [lia|]. simpl.
  destruct (Nat.eq_dec m 0) as [->|Hne].
  - simpl. assert (0 < g 0%nat) by (apply H; lia). lra.
  - apply Rplus_lt_0_compat; [apply IH; [lia | intros; apply H; lia] | apply H; lia].
Qed.
Lemma sum_pos lo hi f : (lo <= hi)%nat -> (forall k, (lo <= k <= hi)%nat -> 0 < f k) -> 0 < sum lo hi f.
Proof. intros Hr H. unfold sum. apply sum_to_pos; [lia | intros; apply H; lia]. Qed.

Lemma sum_minus lo hi f g :
  sum lo hi (fun k => f k - g k) = sum lo hi (fun k => f k) - sum lo hi (fun k => g k).
Proof. unfold Rminus. rewrite sum_plus, sum_opp. reflexivity. Qed.

Lemma sum_delta_collapse' (lo hi j : nat) (f : nat -> R) :
  (lo <= j <= hi)%nat -> sum lo hi (fun k => f k * delta j k) = f j.
Proof.
  intro Hj. rewrite <- (sum_delta_collapse lo hi j f Hj). apply sum_ext; intros; rewrite delta_sym; ring.
Qed.

(** A sum whose every term is 0 (a Kronecker delta off the sum's range). *)
Lemma sum_zero (lo hi : nat) (g : nat -> R) :
  (forall k, (lo <= k <= hi)%nat -> g k = 0) -> sum lo hi g = 0.
Proof.
  intro H. transitivity (sum lo hi (fun _ => 0)); [apply sum_ext; exact H |].
  rewrite sum_const; ring.
Qed.

Lemma sum_scal_r lo hi f c : sum lo hi (fun k => f k * c) = sum lo hi (fun k => f k) * c.
Proof.
  transitivity (sum lo hi (fun k => c * f k)); [apply sum_ext; intros; ring |].
  rewrite sum_scal; ring.
Qed.

(** Tactics over the generated file's definitions: the file redefines [ddefs] to unfold
    them (a definition is looked through for signs, never assumed). *)
Ltac ddefs := idtac.

(** Side conditions and algebra. *)
Ltac dpos :=
  solve [ assumption | apply PI_RGT_0 | apply exp_pos | apply exp_plus_pos | apply sigmoid_pos
        | apply one_minus_sigmoid_pos | apply tanh_den_pos
        | apply sqrt_lt_R0; dpos | apply Rplus_lt_0_compat; dpos
        | apply Rmult_lt_0_compat; dpos | apply pow_lt; dpos
        | apply Rdiv_lt_0_compat; dpos | apply Rinv_0_lt_compat; dpos
        | apply sum_pos; [lia | intros; dpos]
        | apply lt_0_INR; lia
        | progress ddefs; dpos
        | unfold Rgt in *; nra | lra ].

Ltac dnz :=
  solve [ assumption | apply Rgt_not_eq; unfold Rgt; dpos
        | apply Rlt_not_eq; apply Ropp_lt_cancel; rewrite Ropp_0; dpos
        | apply pow_nonzero; dnz | apply Rmult_integral_contrapositive_currified; dnz
        | apply Rinv_neq_0_compat; dnz
        | unfold Rgt in *; nra ].

Ltac dcond := cbv beta; dpoint; match goal with
  | |- _ /\ _ => split; dcond
  | |- _ <> _ => dnz
  | |- _ > _ => unfold Rgt; dpos
  | |- _ < _ => dpos
  | _ => idtac
  end.

(** The ring step of the certificate, with definitions looked through for the non-zero
    conditions. *)
Ltac dring := first [ ring | field; dcond ].

(** Closes [lemma value = certificate value]: beta, the nat of a power, then field. *)
Ltac dalg :=
  cbv beta; dpoint; rewrite ?delta_same; cbn [pred Nat.sub INR];
  first [ ring | field; dcond
        | unfold Rpower, sigmoid, softplus, tanh, tan;
          rewrite ?exp_Ropp, ?Ropp_involutive, ?exp_ln, ?ln_exp, ?exp_plus, ?exp_0, ?ln_1,
            ?sin_0, ?cos_0, ?sin_PI2, ?cos_PI2, ?sin_PI, ?cos_PI by dcond;
          first [ ring | field; dcond ] ].

(** Syntactic equality (never [reflexivity] on terms that differ: conversion could unfold
    [exp] and not return). *)
Ltac dsame := match goal with |- ?a = ?a => reflexivity end.

(** One algebra step of a chain [E = E']: the two sides differ at one place, reached
    through sums (with the index and its range introduced) and applications; [tac] proves
    the step there (or anywhere above, where it applies). *)
Ltac dcong tac :=
  first [ dsame | solve [ tac ]
        | apply sum_ext; intros ? ?; dcong tac
        | match goal with
          (* Coquelicot's [abs] takes its ring implicitly: [f_equal] leaves a goal [ring]
             cannot read, so the argument is replaced as a real. *)
          | |- @abs ?K ?a = @abs ?K ?b => replace (b : R) with (a : R) by dcong tac; reflexivity
          | |- ?f ?a = ?f ?b => apply (f_equal f); dcong tac
          | |- ?f ?a ?c = ?f ?b ?d => apply (f_equal2 f); dcong tac
          end ].

(** A function rewritten pointwise: beta, then ring (or [Rpower]'s definition). *)
Ltac dfn :=
  cbv beta; first [ reflexivity | ring | unfold Rpower; reflexivity | field; dcond
                  | unfold upd; simpl; first [ reflexivity | ring ]
                  | dcong ltac:(dring) ].

(** One certificate step: [T] is the rule's lemma applied to the inner derivatives; the
    function is the step's up to [dfn], the value the step's up to [dalg]. *)
Lemma D_step (f g : R -> R) (x l l' : R) :
  is_derive f x l -> l = l' -> (forall t, f t = g t) -> is_derive g x l'.
Proof. intros H E F. apply (D_ext f g x l' F). rewrite <- E. exact H. Qed.

Tactic Notation "dstep" constr(T) :=
  refine (D_step _ _ _ _ _ T _ _); [ dalg | intro; dfn ].


(** A definition folded or unfolded. *)
Ltac ddef := ddefs; cbv beta; dsame.

(** Linearity of sums, both sides brought to sums of the terms' parts. *)
Ltac dlinear := repeat progress rewrite ?sum_plus, ?sum_minus, ?sum_opp, ?sum_scal; cbv beta; dring.

(** A sum of Kronecker deltas collapses at [j]: by the lemma where the delta is the last
    factor, else because every other term is zero. *)
Ltac dcollapse j :=
  first [ rewrite sum_delta_collapse by lia | rewrite sum_delta_collapse' by lia
        | rewrite (sum_single _ _ j);
          [ | lia | intros ? ? ?; cbv beta; rewrite ?delta_ne, ?delta_ne' by lia; ring ] ];
  cbv beta; rewrite ?delta_same; dring.

(** A sum of Kronecker deltas whose other index lies outside the sum's range is 0. *)
Ltac doutside :=
  rewrite sum_zero; [ | intros ? ?; cbv beta; rewrite ?delta_ne, ?delta_ne' by lia; ring ];
  dring.

(** A sum of equal terms: the number of terms, as a real. *)
Ltac dconst :=
  rewrite sum_const;
  repeat progress (rewrite ?Nat.sub_0_r, ?S_INR, ?plus_INR; try rewrite minus_INR by lia);
  cbn [INR]; dring.
