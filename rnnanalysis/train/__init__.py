"""Training on the classic long-range tasks, and the remedies for vanishing/exploding gradients.

    >>> import rnnanalysis as ra
    >>> from rnnanalysis.train import get_task
    >>> round(get_task("copy").baseline(100), 4)
    0.1733
"""

from ..cells import BatchNormRNN as BatchNormRNN
from .clipping import AdaptiveClip as AdaptiveClip
from .clipping import ClipByGlobalNorm as ClipByGlobalNorm
from .clipping import ClipByValue as ClipByValue
from .clipping import Clipped as Clipped
from .clipping import ClipState as ClipState
from .clipping import clip_adaptive as clip_adaptive
from .clipping import clip_by_global_norm as clip_by_global_norm
from .clipping import clip_by_value as clip_by_value
from .clipping import global_norm as global_norm
from .loop import Evaluation as Evaluation
from .loop import StepInfo as StepInfo
from .loop import TrainResult as TrainResult
from .loop import evaluate as evaluate
from .loop import make_transform as make_transform
from .loop import train as train
from .loop import train_step as train_step
from .losses import cross_entropy as cross_entropy
from .losses import mse as mse
from .network import Network as Network
from .network import loss_and_grads as loss_and_grads
from .network import make_network as make_network
from .network import predict as predict
from .network import stack_networks as stack_networks
from .optim import SGD as SGD
from .optim import Adam as Adam
from .optim import RMSprop as RMSprop
from .optim import make_optimizer as make_optimizer
from .regularizers import OmegaPenalty as OmegaPenalty
from .regularizers import omega as omega
from .remedies import Remedy as Remedy
from .remedies import parse_remedy as parse_remedy
from .remedies import remedy_runs as remedy_runs
from .remedies import remedy_runs_together as remedy_runs_together
from .tasks import TASKS as TASKS
from .tasks import Batch as Batch
from .tasks import Task as Task
from .tasks import get_task as get_task
from .transform import GradientTransformation as GradientTransformation
from .transform import StepContext as StepContext
from .transform import apply_updates as apply_updates
from .transform import chain as chain

__all__ = [
    "Batch", "Task", "TASKS", "get_task", "mse", "cross_entropy", "Network", "make_network",
    "loss_and_grads", "predict", "stack_networks", "BatchNormRNN", "Clipped", "ClipState",
    "ClipByGlobalNorm", "ClipByValue", "AdaptiveClip", "global_norm", "clip_by_global_norm",
    "clip_by_value", "clip_adaptive", "SGD", "RMSprop", "Adam", "make_optimizer", "omega",
    "OmegaPenalty", "GradientTransformation", "StepContext", "chain", "apply_updates",
    "Evaluation", "TrainResult", "StepInfo", "evaluate", "train", "train_step", "make_transform",
    "Remedy", "parse_remedy", "remedy_runs", "remedy_runs_together",
]
