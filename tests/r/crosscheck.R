# Independent recomputation of the trial statistics with R (survival, cmprsk, geepack).
#
# Usage: Rscript crosscheck.R DIR
# DIR holds the inputs written by tests/r_crosscheck.py:
#   endpoints.csv  subject, arm, unit, endpoint, time_months, event (0 censored, 1 event, 2 competing)
#   subjects.csv   subject, arm, stratum, best_overall_response, has_target_disease,
#                  bor_confirmed, sd_min_met, preop_chemo_arm, pre_ablation_responder
#   ablations.csv  subject, arm, lesion, technique_efficacy, mam_mm
#   arms.txt       the two arms, first line = the arm whose hazard ratio is estimated
#   subgroups.csv  subject and one column per subgroup variable (its level)
# and receives r_figures.csv: one row per figure (table, endpoint, arm, statistic, time_months,
# field, value, source).  Nothing here reads the Python results.
suppressPackageStartupMessages({library(survival); library(cmprsk); library(geepack)})
args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]
ep <- read.csv(file.path(dir, "endpoints.csv"), stringsAsFactors = FALSE)
subj <- read.csv(file.path(dir, "subjects.csv"), stringsAsFactors = FALSE, colClasses = "character")
ep$stratum <- subj$stratum[match(ep$subject, subj$subject)]
abl <- read.csv(file.path(dir, "ablations.csv"), stringsAsFactors = FALSE, colClasses = "character")
arms <- readLines(file.path(dir, "arms.txt"))
landmarks <- c(12, 24, 36, 60)
competing_endpoints <- c("DFS", "CSS", "LTP", "LTP_TUMOUR", "LTP_TUMOUR_ASSISTED", "DISTANT",
                         "LOCAL_CONTROL_TUMOUR")

out <- list()
put <- function(table, endpoint, arm, statistic, time, field, value, source) {
  out[[length(out) + 1]] <<- data.frame(table = table, endpoint = endpoint, arm = arm,
    statistic = statistic, time_months = time, field = field,
    value = if (is.null(value) || length(value) == 0) NA_real_ else as.numeric(value),
    source = source, stringsAsFactors = FALSE)
}
z <- qnorm(0.975)

km_rows <- function(e, arm, d, tau) {
  fit <- survfit(Surv(time_months, event == 1) ~ 1, data = d, conf.type = "log-log")
  tab <- summary(fit)$table
  put("survival", e, arm, "median", NA, "estimate", tab["median"], "survfit")
  put("survival", e, arm, "median", NA, "ci_low", tab["0.95LCL"], "survfit")
  put("survival", e, arm, "median", NA, "ci_high", tab["0.95UCL"], "survfit")
  s <- summary(fit, times = landmarks)
  for (t in landmarks) {
    i <- match(t, s$time)
    stat <- paste0("survival_", t, "m")
    put("survival", e, arm, stat, t, "estimate", if (is.na(i)) NA else s$surv[i], "survfit")
    put("survival", e, arm, stat, t, "ci_low", if (is.na(i)) NA else s$lower[i], "survfit")
    put("survival", e, arm, stat, t, "ci_high", if (is.na(i)) NA else s$upper[i], "survfit")
  }
  if (!is.na(tau)) {
    m <- survival:::survmean(fit, rmean = tau)$matrix
    put("survival", e, arm, "rmst", tau, "estimate", m["rmean"], "survfit")
    put("survival", e, arm, "rmst", tau, "std_error", m["se(rmean)"], "survfit")
    put("survival", e, arm, "rmst", tau, "ci_low", m["rmean"] - z * m["se(rmean)"], "survfit")
    put("survival", e, arm, "rmst", tau, "ci_high", m["rmean"] + z * m["se(rmean)"], "survfit")
  }
  for (stat in c("median", paste0("survival_", landmarks, "m"), if (!is.na(tau)) "rmst")) {
    tm <- if (stat == "median") NA else if (stat == "rmst") tau else as.numeric(gsub("\\D", "", stat))
    put("survival", e, arm, stat, tm, "n", nrow(d), "data")
    put("survival", e, arm, stat, tm, "events", sum(d$event == 1), "data")
    put("survival", e, arm, stat, tm, "competing", sum(d$event == 2), "data")
  }
  if (e %in% competing_endpoints) {
    d$state <- factor(d$event, levels = 0:2)
    fit <- survfit(Surv(time_months, state) ~ 1, data = d, conf.type = "log-log")
    s <- summary(fit, times = landmarks)
    k <- match("1", fit$states)
    for (t in landmarks) {
      i <- match(t, s$time)
      stat <- paste0("cumulative_incidence_", t, "m")
      put("survival", e, arm, stat, t, "estimate", if (is.na(i)) NA else s$pstate[i, k], "survfit")
      put("survival", e, arm, stat, t, "std_error", if (is.na(i)) NA else s$std.err[i, k], "survfit")
      put("survival", e, arm, stat, t, "ci_low", if (is.na(i)) NA else s$lower[i, k], "survfit")
      put("survival", e, arm, stat, t, "ci_high", if (is.na(i)) NA else s$upper[i, k], "survfit")
      put("survival", e, arm, stat, t, "n", nrow(d), "data")
      put("survival", e, arm, stat, t, "events", sum(d$event == 1), "data")
      put("survival", e, arm, stat, t, "competing", sum(d$event == 2), "data")
    }
  }
  if (e == "OS") {
    fit <- survfit(Surv(time_months, event == 0) ~ 1, data = d, conf.type = "log-log")
    tab <- summary(fit)$table
    put("survival", e, arm, "median_follow_up", NA, "estimate", tab["median"], "survfit")
    put("survival", e, arm, "median_follow_up", NA, "ci_low", tab["0.95LCL"], "survfit")
    put("survival", e, arm, "median_follow_up", NA, "ci_high", tab["0.95UCL"], "survfit")
    put("survival", e, arm, "median_follow_up", NA, "n", nrow(d), "data")
    put("survival", e, arm, "median_follow_up", NA, "events", sum(d$event == 1), "data")
    put("survival", e, arm, "median_follow_up", NA, "competing", sum(d$event == 2), "data")
  }
}

cox_rows <- function(e, label, d, stratified, clustered) {
  stat <- if (stratified) "hazard_ratio_stratified" else "hazard_ratio"
  f <- if (stratified) {
    coxph(Surv(time_months, event == 1) ~ x + strata(stratum), data = d)
  } else if (clustered) {
    coxph(Surv(time_months, event == 1) ~ x, data = d, cluster = subject)
  } else {
    coxph(Surv(time_months, event == 1) ~ x, data = d)
  }
  sm <- summary(f)
  put("survival", e, label, stat, NA, "estimate", sm$conf.int[1, "exp(coef)"], "coxph")
  put("survival", e, label, stat, NA, "ci_low", sm$conf.int[1, "lower .95"], "coxph")
  put("survival", e, label, stat, NA, "ci_high", sm$conf.int[1, "upper .95"], "coxph")
  put("survival", e, label, stat, NA, "p_value", sm$coefficients[1, "Pr(>|z|)"], "coxph")
  put("survival", e, label, stat, NA, "p_value_lr", sm$logtest["pvalue"], "coxph")
  put("survival", e, label, stat, NA, "std_error", sqrt(vcov(f)[1, 1]), "coxph")
  if (!clustered) {
    zp <- cox.zph(f)$table
    ps <- if (stratified) "ph_test_stratified" else "ph_test"
    put("survival", e, label, ps, NA, "estimate", zp["x", "chisq"], "cox.zph")
    put("survival", e, label, ps, NA, "p_value", zp["x", "p"], "cox.zph")
  }
}

for (e in unique(ep$endpoint)) {
  d <- ep[ep$endpoint == e & !is.na(ep$event) & !is.na(ep$time_months), ]
  if (nrow(d) == 0) next
  clustered <- d$unit[1] == "tumour"
  lasts <- sapply(arms, function(a) if (any(d$arm == a)) max(d$time_months[d$arm == a]) else NA)
  lasts <- lasts[!is.na(lasts)]
  tau <- if (length(lasts)) min(60, lasts) else NA
  for (arm in c(arms, "all")) {
    part <- if (arm == "all") d else d[d$arm == arm, ]
    if (nrow(part) > 0) km_rows(e, arm, part, tau)
  }
  d <- d[d$arm %in% arms, ]
  a <- d[d$arm == arms[1], ]
  b <- d[d$arm == arms[2], ]
  if (nrow(a) == 0 || nrow(b) == 0) next
  label <- paste(arms[1], "vs", arms[2])
  put("survival", e, label, "counts", NA, "n", nrow(d), "data")
  put("survival", e, label, "counts", NA, "events", sum(d$event == 1), "data")
  put("survival", e, label, "counts", NA, "competing", sum(d$event == 2), "data")
  ma <- survival:::survmean(survfit(Surv(time_months, event == 1) ~ 1, data = a), rmean = tau)$matrix
  mb <- survival:::survmean(survfit(Surv(time_months, event == 1) ~ 1, data = b), rmean = tau)$matrix
  diff <- ma["rmean"] - mb["rmean"]
  se <- sqrt(ma["se(rmean)"]^2 + mb["se(rmean)"]^2)
  put("survival", e, label, "rmst_difference", tau, "estimate", diff, "survfit")
  put("survival", e, label, "rmst_difference", tau, "std_error", se, "survfit")
  put("survival", e, label, "rmst_difference", tau, "ci_low", diff - z * se, "survfit")
  put("survival", e, label, "rmst_difference", tau, "ci_high", diff + z * se, "survfit")
  put("survival", e, label, "rmst_difference", tau, "p_value", 2 * pnorm(-abs(diff / se)), "survfit")
  if (sum(d$event == 1) == 0) next
  d$x <- as.numeric(d$arm == arms[1])
  sd <- survdiff(Surv(time_months, event == 1) ~ x, data = d)
  put("survival", e, label, "logrank_chi2", NA, "estimate", sd$chisq, "survdiff")
  put("survival", e, label, "logrank_chi2", NA, "p_value", pchisq(sd$chisq, 1, lower.tail = FALSE), "survdiff")
  has_strata <- !clustered && length(unique(d$stratum)) > 1
  if (has_strata) {
    sd <- survdiff(Surv(time_months, event == 1) ~ x + strata(stratum), data = d)
    put("survival", e, label, "logrank_stratified_chi2", NA, "estimate", sd$chisq, "survdiff")
    put("survival", e, label, "logrank_stratified_chi2", NA, "p_value",
        pchisq(sd$chisq, 1, lower.tail = FALSE), "survdiff")
  }
  cox_rows(e, label, d, FALSE, clustered)
  if (has_strata) cox_rows(e, label, d, TRUE, FALSE)
  if (e %in% competing_endpoints && any(d$event == 2)) {
    g <- cuminc(d$time_months, d$event, d$arm, cencode = 0)$Tests
    put("survival", e, label, "gray_chi2", NA, "estimate", g["1", "stat"], "cuminc")
    put("survival", e, label, "gray_chi2", NA, "p_value", g["1", "pv"], "cuminc")
    if (has_strata) {
      g <- cuminc(d$time_months, d$event, d$arm, strata = d$stratum, cencode = 0)$Tests
      put("survival", e, label, "gray_stratified_chi2", NA, "estimate", g["1", "stat"], "cuminc")
      put("survival", e, label, "gray_stratified_chi2", NA, "p_value", g["1", "pv"], "cuminc")
    }
    d$state <- factor(d$event, levels = 0:2, labels = c("censor", "event", "competing"))
    d$rowid <- seq_len(nrow(d))
    fgd <- finegray(Surv(time_months, state) ~ ., data = d, etype = "event")
    fgd$grp <- if (clustered) fgd$subject else fgd$rowid
    f <- coxph(Surv(fgstart, fgstop, fgstatus) ~ x, weights = fgwt, data = fgd,
               ties = "breslow", cluster = grp)
    sm <- summary(f)
    st <- "subdistribution_hazard_ratio"
    put("survival", e, label, st, NA, "estimate", sm$conf.int[1, "exp(coef)"], "finegray")
    put("survival", e, label, st, NA, "ci_low", sm$conf.int[1, "lower .95"], "finegray")
    put("survival", e, label, st, NA, "ci_high", sm$conf.int[1, "upper .95"], "finegray")
    put("survival", e, label, st, NA, "p_value", sm$coefficients[1, "Pr(>|z|)"], "finegray")
    put("survival", e, label, st, NA, "std_error", sqrt(vcov(f)[1, 1]), "finegray")
    if (has_strata) {
      # Stratified model: one censoring curve (finegray above), a baseline subdistribution
      # hazard per randomisation stratum.
      f <- coxph(Surv(fgstart, fgstop, fgstatus) ~ x + strata(stratum), weights = fgwt,
                 data = fgd, ties = "breslow", cluster = grp)
      sm <- summary(f)
      ss <- "subdistribution_hazard_ratio_stratified"
      put("survival", e, label, ss, NA, "estimate", sm$conf.int[1, "exp(coef)"], "finegray")
      put("survival", e, label, ss, NA, "ci_low", sm$conf.int[1, "lower .95"], "finegray")
      put("survival", e, label, ss, NA, "ci_high", sm$conf.int[1, "upper .95"], "finegray")
      put("survival", e, label, ss, NA, "p_value", sm$coefficients[1, "Pr(>|z|)"], "finegray")
      put("survival", e, label, ss, NA, "std_error", sqrt(vcov(f)[1, 1]), "finegray")
    }
    if (!clustered) {
      cr <- crr(d$time_months, d$event, d$x, failcode = 1, cencode = 0)
      se <- sqrt(cr$var[1, 1])
      put("survival", e, label, st, NA, "estimate", exp(cr$coef), "crr")
      put("survival", e, label, st, NA, "ci_low", exp(cr$coef - z * se), "crr")
      put("survival", e, label, st, NA, "ci_high", exp(cr$coef + z * se), "crr")
      put("survival", e, label, st, NA, "p_value", 2 * pnorm(-abs(cr$coef / se)), "crr")
      put("survival", e, label, st, NA, "std_error", se, "crr")
    }
  }
}

# ORR / DCR (END-ORR, END-DCR): responders among subjects with target disease; Clopper-Pearson
# (binom.test); difference with Newcombe's hybrid score interval built from Wilson intervals.
truthy <- function(v) tolower(trimws(v)) %in% c("true", "1", "yes", "y", "t")
bor <- toupper(trimws(subj$best_overall_response))
evaluable <- ifelse(trimws(subj$has_target_disease) == "", TRUE, truthy(subj$has_target_disease))
confirmed <- tolower(trimws(subj$bor_confirmed)) %in% c("", "none", "nan") | truthy(subj$bor_confirmed)
sd_ok <- ifelse(trimws(subj$sd_min_met) == "", TRUE, truthy(subj$sd_min_met))
flags <- list(ORR = bor %in% c("CR", "PR") & confirmed & evaluable)
flags$DCR <- flags$ORR | (bor == "SD" & sd_ok & evaluable)
for (endpoint in names(flags)) {
  hit <- flags[[endpoint]]
  counts <- list()
  for (arm in c(arms, "all")) {
    keep <- evaluable & (if (arm == "all") TRUE else subj$arm == arm)
    n <- sum(keep); k <- sum(hit[keep])
    counts[[arm]] <- c(k, n)
    put(endpoint, endpoint, arm, "rate", NA, "n", n, "data")
    put(endpoint, endpoint, arm, "rate", NA, "responders", k, "data")
    if (n > 0) {
      ci <- binom.test(k, n)$conf.int
      put(endpoint, endpoint, arm, "rate", NA, "orr", k / n, "binom.test")
      put(endpoint, endpoint, arm, "rate", NA, "ci_low", ci[1], "binom.test")
      put(endpoint, endpoint, arm, "rate", NA, "ci_high", ci[2], "binom.test")
    }
  }
  k1 <- counts[[arms[1]]][1]; n1 <- counts[[arms[1]]][2]
  k2 <- counts[[arms[2]]][1]; n2 <- counts[[arms[2]]][2]
  if (n1 > 0 && n2 > 0) {
    w1 <- prop.test(k1, n1, correct = FALSE)$conf.int
    w2 <- prop.test(k2, n2, correct = FALSE)$conf.int
    p1 <- k1 / n1; p2 <- k2 / n2
    label <- paste(arms[1], "-", arms[2])
    put(endpoint, endpoint, label, "rate", NA, "orr", p1 - p2, "newcombe")
    put(endpoint, endpoint, label, "rate", NA, "ci_low", p1 - p2 - sqrt((p1 - w1[1])^2 + (w2[2] - p2)^2), "newcombe")
    put(endpoint, endpoint, label, "rate", NA, "ci_high", p1 - p2 + sqrt((w1[2] - p1)^2 + (p2 - w2[1])^2), "newcombe")
    put(endpoint, endpoint, label, "rate", NA, "n", n1 + n2, "data")
    put(endpoint, endpoint, label, "rate", NA, "responders", k1 + k2, "data")
  }
}

# Technique efficacy per tumour (END-TE): GEE with patient clusters (geepack), logit-scale CI.
abl <- abl[abl$technique_efficacy != "not-evaluable", ]
success <- list(TE_PRIMARY = c("primary-success"), TE_ASSISTED = c("primary-success", "assisted-success"))
for (endpoint in names(success)) {
  for (arm in c(arms, "all")) {
    part <- if (arm == "all") abl else abl[abl$arm == arm, ]
    n <- nrow(part)
    put("TE", endpoint, arm, "proportion", NA, "n_tumours", n, "data")
    if (n == 0) next
    part$y <- as.numeric(part$technique_efficacy %in% success[[endpoint]])
    k <- sum(part$y)
    put("TE", endpoint, arm, "proportion", NA, "n_patients", length(unique(part$subject)), "data")
    put("TE", endpoint, arm, "proportion", NA, "successes", k, "data")
    put("TE", endpoint, arm, "proportion", NA, "proportion", k / n, "data")
    if (k > 0 && k < n) {
      part <- part[order(part$subject), ]
      part$cl <- as.integer(factor(part$subject))
      g <- geeglm(y ~ 1, id = cl, data = part, family = binomial, corstr = "independence")
      b <- coef(g)[1]; se <- sqrt(vcov(g)[1, 1])
      put("TE", endpoint, arm, "proportion", NA, "ci_low", plogis(b - z * se), "geeglm")
      put("TE", endpoint, arm, "proportion", NA, "ci_high", plogis(b + z * se), "geeglm")
    } else {
      ci <- binom.test(k, n)$conf.int
      put("TE", endpoint, arm, "proportion", NA, "ci_low", ci[1], "binom.test")
      put("TE", endpoint, arm, "proportion", NA, "ci_high", ci[2], "binom.test")
    }
  }
}

# Subgroups (forest plot): Cox HR of the first arm within each level of each subgroup variable on
# the primary endpoint (DFS, cause-specific), and the LR test of the arm-by-subgroup interaction.
sg <- read.csv(file.path(dir, "subgroups.csv"), stringsAsFactors = FALSE, check.names = FALSE,
               colClasses = "character")
d <- ep[ep$endpoint == "DFS" & !is.na(ep$event) & ep$arm %in% arms, ]
d$ev <- as.numeric(d$event == 1)
d$x <- as.numeric(d$arm == arms[1])
# A model whose likelihood has no maximum (an arm without events in a subgroup) is not
# estimable: R warns and returns a meaningless estimate; it counts as missing here.
fit_or_null <- function(formula, data) {
  tryCatch(coxph(formula, data = data), warning = function(w) NULL, error = function(e) NULL)
}
hr_rows <- function(sub, level, part, interaction, multi = FALSE) {
  put("subgroups", "DFS", sub, level, NA, "n", nrow(part), "data")
  put("subgroups", "DFS", sub, level, NA, "events", sum(part$ev), "data")
  put("subgroups", "DFS", sub, level, NA, "n_first_arm", sum(part$x), "data")
  put("subgroups", "DFS", sub, level, NA, "events_first_arm", sum(part$ev[part$x == 1]), "data")
  f <- fit_or_null(Surv(time_months, ev) ~ x, part)
  ok <- !is.null(f)
  sm <- if (ok) summary(f) else NULL
  put("subgroups", "DFS", sub, level, NA, "hazard_ratio", if (ok) sm$conf.int[1, 1] else NA, "coxph")
  put("subgroups", "DFS", sub, level, NA, "ci_low", if (ok) sm$conf.int[1, 3] else NA, "coxph")
  put("subgroups", "DFS", sub, level, NA, "ci_high", if (ok) sm$conf.int[1, 4] else NA, "coxph")
  put("subgroups", "DFS", sub, level, NA, "p_value", if (ok) sm$coefficients[1, 5] else NA, "coxph")
  if (sub != "all" && multi) put("subgroups", "DFS", sub, level, NA, "interaction_p", interaction, "coxph")
}
if (nrow(d) > 0 && sum(d$ev) > 0) {
  hr_rows("all", "all subjects", d, NA)
  for (column in setdiff(names(sg), "subject")) {
    d$g <- factor(sg[[column]][match(d$subject, sg$subject)])
    interaction <- NA
    if (nlevels(d$g) > 1) {
      m0 <- fit_or_null(Surv(time_months, ev) ~ x + g, d)
      m1 <- fit_or_null(Surv(time_months, ev) ~ x * g, d)
      if (!is.null(m0) && !is.null(m1)) interaction <- anova(m0, m1)[["Pr(>|Chi|)"]][2]
    }
    for (level in levels(d$g)) hr_rows(column, level, d[d$g == level, ], interaction, nlevels(d$g) > 1)
  }
}

# PRE-2: ORR to preoperative chemotherapy in the arm that receives it, beside that arm's
# whole-course ORR; the same denominator (measurable disease at baseline), Clopper-Pearson.
preop <- truthy(subj$preop_chemo_arm)
for (arm in sort(unique(subj$arm[preop]))) {
  keep <- evaluable & preop & subj$arm == arm
  n <- sum(keep)
  for (endpoint in c("ORR_PREOP", "ORR")) {
    hit <- if (endpoint == "ORR") flags$ORR else truthy(subj$pre_ablation_responder)
    k <- sum(hit[keep])
    put("orr_preop", endpoint, arm, "rate", NA, "n", n, "data")
    put("orr_preop", endpoint, arm, "rate", NA, "responders", k, "data")
    if (n > 0) {
      ci <- binom.test(k, n)$conf.int
      put("orr_preop", endpoint, arm, "rate", NA, "orr", k / n, "binom.test")
      put("orr_preop", endpoint, arm, "rate", NA, "ci_low", ci[1], "binom.test")
      put("orr_preop", endpoint, arm, "rate", NA, "ci_high", ci[2], "binom.test")
    }
  }
}

# LTP by ablative margin (MAR section 5.1 bands; lower bounds inclusive): per-tumour cumulative
# incidence of LTP by band (death competing; Aalen-Johansen, log-log CI) and the Cox model of
# time to LTP on the MAM in mm, robust variance clustered by patient (STAT-6).
tum <- ep[ep$endpoint == "LTP_TUMOUR" & ep$unit == "tumour", ]
abl_all <- read.csv(file.path(dir, "ablations.csv"), stringsAsFactors = FALSE, colClasses = "character")
tum$mam <- suppressWarnings(as.numeric(abl_all$mam_mm[match(paste(tum$subject, tum$lesion),
                                                            paste(abl_all$subject, abl_all$lesion))]))
tum <- tum[!is.na(tum$mam), ]
if (nrow(tum) > 0) {
  tum$band <- cut(tum$mam, c(-Inf, 0, 5, 10, Inf), right = FALSE,
                  labels = c("band1", "band2", "band3", "band4"))  # < 0, 0-5, 5-10, >= 10 mm
  for (band in levels(tum$band)) {
    part <- tum[tum$band == band, ]
    put("margin", "LTP_TUMOUR", band, "counts", NA, "n_tumours", nrow(part), "data")
    put("margin", "LTP_TUMOUR", band, "counts", NA, "n_patients", length(unique(part$subject)), "data")
    put("margin", "LTP_TUMOUR", band, "counts", NA, "n_ltp", sum(part$event == 1), "data")
    if (nrow(part) == 0) next
    part$state <- factor(part$event, levels = 0:2)
    fit <- survfit(Surv(time_months, state) ~ 1, data = part, conf.type = "log-log")
    k <- match("1", fit$states)
    s <- summary(fit, times = c(12, 24, 36), extend = FALSE)
    for (t in c(12, 24, 36)) {
      i <- match(t, s$time)
      put("margin", "LTP_TUMOUR", band, "cumulative_incidence", t, "estimate", if (is.na(i)) NA else s$pstate[i, k], "survfit")
      put("margin", "LTP_TUMOUR", band, "cumulative_incidence", t, "ci_low", if (is.na(i)) NA else s$lower[i, k], "survfit")
      put("margin", "LTP_TUMOUR", band, "cumulative_incidence", t, "ci_high", if (is.na(i)) NA else s$upper[i, k], "survfit")
    }
  }
  # Fitted with at least 5 tumours and 2 LTPs (the analysis reports "not estimable" below).
  ok <- nrow(tum) >= 5 && sum(tum$event == 1) >= 2
  sm <- if (ok) summary(coxph(Surv(time_months, event == 1) ~ mam, data = tum, cluster = subject)) else NULL
  put("margin", "LTP_TUMOUR", "all", "hazard_ratio_per_mm", NA, "estimate", if (ok) sm$conf.int[1, "exp(coef)"] else NA, "coxph")
  put("margin", "LTP_TUMOUR", "all", "hazard_ratio_per_mm", NA, "ci_low", if (ok) sm$conf.int[1, "lower .95"] else NA, "coxph")
  put("margin", "LTP_TUMOUR", "all", "hazard_ratio_per_mm", NA, "ci_high", if (ok) sm$conf.int[1, "upper .95"] else NA, "coxph")
  put("margin", "LTP_TUMOUR", "all", "hazard_ratio_per_mm", NA, "p_value", if (ok) sm$coefficients[1, "Pr(>|z|)"] else NA, "coxph")
}

write.csv(do.call(rbind, out), file.path(dir, "r_figures.csv"), row.names = FALSE, na = "")
