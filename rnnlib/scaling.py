"""Old name of :mod:`rnnlib.distributed.char_lm`, kept until appendix A1 runs the new one."""

from rnnlib.distributed.char_lm import char_lm_loss, main, parse_args  # noqa: F401

if __name__ == "__main__":
    main()
