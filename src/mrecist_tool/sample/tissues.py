"""What each tissue looks like in each contrast phase: CT numbers (HU) and T1 MR signal.

Values are typical textbook attenuations of a contrast-enhanced liver CT (unenhanced liver
about 55 HU, 70 HU in the late arterial phase and about 115 HU in the portal-venous phase; an
aorta of about 320 HU in the arterial phase) and plausible signal of a fat-suppressed T1
gradient-echo MR with an extracellular gadolinium agent.  They are chosen to show the patterns
a reader looks for, not to model any scanner:

* ``hypervascular``: a tumour that enhances in the arterial phase and washes out in the
  portal-venous phase (mRECIST's "typical" enhancement; viability phase arterial);
* ``crlm_core`` / ``crlm_rim``: a colorectal metastasis -- hypovascular core with a thin
  enhancing rim, best seen as a hypodense lesion in the portal-venous phase;
* ``ablation``: coagulation necrosis, non-enhancing in every phase (and bright on T1 MR);
* ``ablation_rim``: the thin benign periablational hyperaemia seen on early follow-up.
"""

from __future__ import annotations

CT_PHASES = ("non-contrast", "arterial", "portal-venous", "delayed")
MR_PHASES = ("non-contrast", "arterial", "portal-venous")

# tissue: HU in (non-contrast, arterial, portal-venous, delayed)
CT_HU: dict[str, tuple[float, float, float, float]] = {
    "air": (-1000, -1000, -1000, -1000),
    "fat": (-100, -100, -98, -98),
    "muscle": (50, 58, 65, 62),
    "visceral": (-60, -55, -50, -52),
    "bowel": (30, 60, 80, 70),
    "bone_cortex": (750, 750, 750, 750),
    "bone": (220, 225, 230, 230),
    "canal": (20, 22, 25, 25),
    "liver": (55, 70, 115, 90),
    "spleen": (45, 115, 120, 95),
    "kidney": (30, 190, 165, 140),
    "aorta": (40, 320, 160, 110),
    "ivc": (40, 75, 150, 105),
    "portal": (40, 150, 185, 115),
    "hepatic_vein": (40, 50, 165, 110),
    "hypervascular": (40, 135, 80, 65),
    "crlm_core": (35, 42, 52, 60),
    "crlm_rim": (40, 100, 100, 85),
    "ablation": (38, 40, 42, 42),
    "ablation_rim": (50, 105, 125, 95),
}
CT_NOISE_HU = (10.0, 14.0, 12.0, 12.0)

# tissue: T1 fat-suppressed GRE signal (arbitrary units) before contrast, arterial, portal-venous
MR_SIGNAL: dict[str, tuple[float, float, float]] = {
    "air": (0, 0, 0),
    "fat": (60, 62, 65),
    "muscle": (150, 175, 215),
    "visceral": (90, 95, 100),
    "bowel": (160, 260, 320),
    "bone_cortex": (40, 40, 40),
    "bone": (180, 190, 200),
    "canal": (100, 100, 100),
    "liver": (300, 380, 520),
    "spleen": (250, 520, 480),
    "kidney": (260, 720, 600),
    "aorta": (110, 1250, 600),
    "ivc": (110, 300, 620),
    "portal": (110, 750, 820),
    "hepatic_vein": (110, 200, 700),
    "hypervascular": (200, 680, 330),
    "crlm_core": (180, 215, 260),
    "crlm_rim": (200, 520, 450),
    "ablation": (430, 430, 430),
    "ablation_rim": (250, 470, 580),
}
MR_NOISE = 12.0


def tissue_value(tissue: str, modality: str, phase: str) -> float:
    if modality == "MR":
        return float(MR_SIGNAL[tissue][MR_PHASES.index(phase)])
    return float(CT_HU[tissue][CT_PHASES.index(phase)])
