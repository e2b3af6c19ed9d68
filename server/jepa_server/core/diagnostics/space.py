"""The geometry of a collection's window embeddings: collapse, density, near-duplicates, outliers,
clusters, coverage of queries and drift. Pure numpy and scikit-learn over arrays; no I/O.

Most of it works in the collection's *centred* space (each unit vector minus the collection's
mean, normalised again): encoder spaces are anisotropic (every V-JEPA 2 clip embedding of the demo
sits within cosine 0.97 of every other), and removing the common direction spreads them out so that
one threshold means the same thing in any model's space. Scores users compare with Search's
(coverage) stay in the raw space.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.cluster import HDBSCAN, AgglomerativeClustering
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE

# Elements of one block of similarities (32 MB of float32, and argpartition's 64 MB of int64):
# bounds the memory of the neighbour search whatever the number of rows.
_BLOCK_ELEMENTS = 1 << 23
# Rows HDBSCAN clusters at most (its cost grows fast); the rest join their nearest centroid.
CLUSTER_SAMPLE = 5000
_CLUSTER_DIMENSIONS = 32
_SPECTRUM_SHOWN = 64
# Kernel two-sample test: rows per side at most, and permutations.
DRIFT_ROWS_PER_SIDE = 1000
DRIFT_PERMUTATIONS = 500
DRIFT_ALPHA = 0.01
# Gap queries whose embeddings are this close (cosine distance, average linkage) form one region.
_GAP_REGION_DISTANCE = 0.2


def unit(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (an all-zero row stays zero)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def centred(unit_vectors: np.ndarray, mean: np.ndarray) -> np.ndarray:
    return unit(unit_vectors - mean)


@dataclass(frozen=True)
class SpectrumSummary:
    dimension: int
    effective_rank: float
    explained_variance: np.ndarray
    dimensions_for_90_percent: int


def spectrum(unit_vectors: np.ndarray) -> SpectrumSummary:
    """The variance along each principal direction. The effective rank (exp of the entropy of the
    normalised spectrum, Roy & Vetterli 2007) says how many directions the collection really uses:
    near 1 is a collapsed representation."""
    dimension = unit_vectors.shape[1]
    deviations = unit_vectors - unit_vectors.mean(axis=0)
    variances = np.clip(np.linalg.eigvalsh((deviations.T @ deviations).astype(np.float64))[::-1], 0.0, None)
    total = variances.sum()
    if total <= 0:
        return SpectrumSummary(dimension, 1.0, np.zeros(min(dimension, _SPECTRUM_SHOWN)), 1)
    shares = variances / total
    nonzero = shares[shares > 0]
    return SpectrumSummary(
        dimension=dimension,
        effective_rank=float(np.exp(-(nonzero * np.log(nonzero)).sum())),
        explained_variance=shares[:_SPECTRUM_SHOWN],
        dimensions_for_90_percent=int(np.searchsorted(np.cumsum(shares), 0.9) + 1),
    )


@dataclass(frozen=True)
class Neighbours:
    """For each row, its `k` nearest other rows (cosine similarity, best first)."""

    indices: np.ndarray  # (N, k)
    similarities: np.ndarray  # (N, k)


def nearest_neighbours(space: np.ndarray, k: int) -> Neighbours:
    """Exact k nearest neighbours by blocks of rows, so memory stays at one block of similarities."""
    rows = len(space)
    k = max(0, min(k, rows - 1))
    indices = np.zeros((rows, k), dtype=np.int64)
    similarities = np.zeros((rows, k), dtype=np.float32)
    block = max(1, _BLOCK_ELEMENTS // max(rows, 1))
    for start in range(0, rows, block):
        stop = min(rows, start + block)
        scores = space[start:stop] @ space.T
        scores[np.arange(stop - start), np.arange(start, stop)] = -np.inf  # not its own neighbour
        if k == 0:
            continue
        nearest = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        nearest_scores = np.take_along_axis(scores, nearest, axis=1)
        order = np.argsort(-nearest_scores, axis=1)
        indices[start:stop] = np.take_along_axis(nearest, order, axis=1)
        similarities[start:stop] = np.take_along_axis(nearest_scores, order, axis=1)
    return Neighbours(indices, similarities)


def outlier_scores(neighbours: Neighbours, k: int) -> np.ndarray:
    """Cosine distance to the k-th nearest neighbour: a window in a region holding fewer than k
    alike windows scores high even when a few copies of it (black frames) keep each other company,
    which the distance to the nearest neighbour, or a local density ratio, would miss."""
    if neighbours.similarities.shape[1] == 0:
        return np.zeros(len(neighbours.similarities), dtype=np.float32)
    column = min(k, neighbours.similarities.shape[1]) - 1
    return (1.0 - neighbours.similarities[:, column]).astype(np.float32)


@dataclass(frozen=True)
class VideoWindows:
    """The rows of each video, in window order: `rows[v]` indexes the analysed arrays."""

    names: list[str]
    rows: list[np.ndarray]
    of_row: np.ndarray  # (N,) video number of each row

    @classmethod
    def group(cls, video_ids: list[str], window_index: np.ndarray) -> VideoWindows:
        names, of_row = np.unique(np.asarray(video_ids, dtype=object), return_inverse=True)
        order = np.lexsort((window_index, of_row))
        boundaries = np.flatnonzero(np.diff(of_row[order])) + 1
        return cls(names=[str(name) for name in names], rows=np.split(order, boundaries), of_row=of_row)


def duplicate_groups(videos: VideoWindows, window_index: np.ndarray, space: np.ndarray, neighbours: Neighbours, threshold: float) -> list[tuple[list[int], float]]:
    """Groups of videos that are near-duplicates: two videos are when their windows, matched by
    window index, have a mean similarity of at least `threshold` and they have the same windows.
    Comparing whole sequences is what tells a re-encoded copy from another clip of the same
    meaning: in a semantic space (VL-JEPA) two different single shots of one event are as close as
    a copy. Candidates come from the window neighbours, so the cost stays linear in the rows."""
    candidates = {
        (min(first, second), max(first, second))
        for first, second in zip(np.repeat(videos.of_row, neighbours.indices.shape[1]), videos.of_row[neighbours.indices.ravel()])
        if first != second
    }
    edges: list[tuple[int, int, float]] = []
    for first, second in candidates:
        first_rows, second_rows = videos.rows[first], videos.rows[second]
        if not np.array_equal(window_index[first_rows], window_index[second_rows]):
            continue
        similarity = float(np.mean(np.sum(space[first_rows] * space[second_rows], axis=1)))
        if similarity >= threshold:
            edges.append((first, second, similarity))
    parent = list(range(len(videos.names)))

    def root(video: int) -> int:
        while parent[video] != video:
            parent[video] = parent[parent[video]]
            video = parent[video]
        return video

    weakest: dict[int, float] = {}
    for first, second, similarity in sorted(edges, key=lambda edge: -edge[2]):
        first_root, second_root = root(first), root(second)
        if first_root != second_root:
            parent[second_root] = first_root
            weakest[first_root] = min(similarity, weakest.pop(first_root, 1.0), weakest.pop(second_root, 1.0))
    members: dict[int, list[int]] = {}
    for video in range(len(videos.names)):
        members.setdefault(root(video), []).append(video)
    groups = [(group, weakest[root_video]) for root_video, group in members.items() if len(group) > 1]
    return sorted(groups, key=lambda group: (-group[1], videos.names[group[0][0]]))


@dataclass(frozen=True)
class Clusters:
    labels: np.ndarray  # (N,) cluster of each row, -1 = none
    centroids: np.ndarray  # (C, D) unit centroids in the centred space
    radii: np.ndarray  # (C,) similarity of the least typical core member to its centroid


def _nearest_within_radius(space: np.ndarray, centroids: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Cluster of each row of `space`: the nearest centroid, if within its radius; else -1."""
    if len(centroids) == 0:
        return np.full(len(space), -1)
    similarities = space @ centroids.T
    nearest = similarities.argmax(axis=1)
    inside = similarities[np.arange(len(space)), nearest] >= radii[nearest]
    return np.where(inside, nearest, -1)


def default_min_cluster_size(rows: int) -> int:
    return max(10, rows // 200)


def clusters(space: np.ndarray, min_cluster_size: int, seed: int) -> Clusters:
    """HDBSCAN's leaf clusters (the finest stable ones: broad clusters of a semantic space merge
    meanings that differ in one attribute) over a sample of the rows reduced by PCA; every row then
    joins its nearest cluster when it lies within that cluster's radius."""
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(len(space), size=min(len(space), CLUSTER_SAMPLE), replace=False))
    # `min_cluster_size` counts windows of the whole set: the sample holds proportionally fewer.
    min_cluster_size = max(2, round(min_cluster_size * len(sample) / max(len(space), 1)))
    if len(sample) < 2 * min_cluster_size:
        return Clusters(np.full(len(space), -1), np.zeros((0, space.shape[1]), np.float32), np.zeros(0, np.float32))
    dimensions = min(_CLUSTER_DIMENSIONS, space.shape[1], len(sample))
    reduced = PCA(dimensions, random_state=seed).fit_transform(space[sample])
    labels = HDBSCAN(min_cluster_size=min_cluster_size, cluster_selection_method="leaf", copy=True).fit(reduced).labels_
    centroids, radii = [], []
    for cluster in range(labels.max() + 1):
        members = space[sample[labels == cluster]]
        centroid = unit(members.mean(axis=0, keepdims=True))[0]
        centroids.append(centroid)
        radii.append(float(np.percentile(members @ centroid, 5)))
    centroid_array, radius_array = np.array(centroids, np.float32).reshape(-1, space.shape[1]), np.array(radii, np.float32)
    return Clusters(_nearest_within_radius(space, centroid_array, radius_array), centroid_array, radius_array)


@dataclass(frozen=True)
class CoverageGaps:
    best_scores: np.ndarray  # (Q,) each query's best cosine similarity to a window
    threshold: float
    regions: list[np.ndarray]  # indices of the gap queries of each empty region, worst first


def coverage_gaps(queries: np.ndarray, windows: np.ndarray, threshold: float) -> CoverageGaps:
    """Queries (unit, raw space, as Search scores them) whose best window scores under `threshold`,
    grouped into regions of alike queries. `threshold` 0: automatic, median - 3 scaled MADs of the
    best scores, i.e. far below how well the index answers typical queries."""
    best = np.zeros(len(queries), dtype=np.float32)
    block = max(1, _BLOCK_ELEMENTS // max(len(windows), 1))
    for start in range(0, len(queries), block):
        best[start : start + block] = (queries[start : start + block] @ windows.T).max(axis=1) if len(windows) else 0.0
    if threshold <= 0 and len(best):
        median = float(np.median(best))
        threshold = median - 3 * 1.4826 * float(np.median(np.abs(best - median)))
    gaps = np.flatnonzero(best < threshold)
    if len(gaps) < 2:
        return CoverageGaps(best, float(threshold), [gaps] if len(gaps) else [])
    grouping = AgglomerativeClustering(n_clusters=None, distance_threshold=_GAP_REGION_DISTANCE, metric="cosine", linkage="average")
    labels = grouping.fit_predict(queries[gaps])
    regions = [gaps[labels == label] for label in np.unique(labels)]
    return CoverageGaps(best, float(threshold), sorted(regions, key=lambda region: float(best[region].min())))


@dataclass(frozen=True)
class DriftTest:
    mmd: float
    p_value: float
    permutations: int


def drift_test(reference: np.ndarray, current: np.ndarray, seed: int, permutations: int = DRIFT_PERMUTATIONS) -> DriftTest:
    """Kernel two-sample test (Gretton et al. 2012): the squared maximum mean discrepancy of a
    Gaussian kernel (bandwidth: the median distance), and its p-value from permutations of the
    pooled rows. Each side is subsampled to `DRIFT_ROWS_PER_SIDE`, which bounds the cost."""
    rng = np.random.default_rng(seed)
    sides = [side[rng.choice(len(side), size=min(len(side), DRIFT_ROWS_PER_SIDE), replace=False)] for side in (reference, current)]
    pooled = np.concatenate(sides).astype(np.float64)
    squared = np.clip(2.0 - 2.0 * pooled @ pooled.T, 0.0, None)  # unit rows: |a - b|^2 = 2 - 2 a.b
    bandwidth = float(np.median(squared[np.triu_indices(len(pooled), 1)])) or 1.0
    kernel = np.exp(-squared / bandwidth)
    first = len(sides[0])
    weights = np.concatenate([np.full(first, 1.0 / first), np.full(len(pooled) - first, -1.0 / (len(pooled) - first))])
    shuffled = np.stack([rng.permutation(weights) for _ in range(permutations)], axis=1)
    observed = float(weights @ kernel @ weights)
    null = np.einsum("ip,ip->p", shuffled, kernel @ shuffled)
    return DriftTest(observed, float((1 + np.sum(null >= observed)) / (1 + permutations)), permutations)


def map_2d(space: np.ndarray, seed: int) -> np.ndarray:
    """(N, 2) coordinates: t-SNE of the PCA-reduced rows (PCA alone for a handful)."""
    if len(space) < 8:
        return np.zeros((len(space), 2)) if len(space) < 2 else PCA(2).fit_transform(space)
    reduced = PCA(min(_CLUSTER_DIMENSIONS, space.shape[1], len(space)), random_state=seed).fit_transform(space)
    return TSNE(2, init="pca", perplexity=min(30.0, (len(space) - 1) / 3), random_state=seed).fit_transform(reduced)
